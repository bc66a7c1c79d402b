namespace Bastion.Engine.History;

/// <summary>
/// A standalone activity (started by <c>StartActivityExecution</c>, not by a workflow). It lives as a run of its own:
/// the same durable state, history, tasks, timers, shard and visibility row as a workflow run, under a workflow id in
/// a space of its own (<see cref="RunWorkflowId"/>), with exactly one activity and no workflow task. The activity's
/// end closes the run; what the caller polls for is kept here.
/// </summary>
internal sealed class StandaloneActivity
{
    /// <summary>Prefixes the activity id into the run's workflow id: activity ids and workflow ids are separate spaces, as in Temporal.</summary>
    public const string IdPrefix = HiddenRuns.Mark + "standalone-activity" + HiddenRuns.Mark;

    /// <summary>What <c>TemporalNamespaceDivision</c> holds in a standalone activity's visibility row (workflow lists leave such rows out).</summary>
    public const string Division = "activity";

    public required string ActivityId { get; set; }

    /// <summary>The ActivityTaskScheduled event id of the one activity.</summary>
    public long ScheduledEventId { get; set; }

    public TimeSpan? StartDelay { get; set; }

    /// <summary>The activity's state once it ended (while it runs it is in <see cref="WorkflowState.Activities"/>).</summary>
    public ActivityInfo? Final { get; set; }

    /// <summary>The encoded <c>ActivityExecutionOutcome</c> once the activity ended.</summary>
    public byte[]? Outcome { get; set; }

    /// <summary>The reason of the cancel request, and its request id (a retried request is applied once).</summary>
    public string? CanceledReason { get; set; }

    public string? CancelRequestId { get; set; }

    public string? TerminateRequestId { get; set; }

    public string Identity { get; set; } = string.Empty;

    /// <summary>The start's links (encoded <c>Link</c>s), shown by describe.</summary>
    public List<byte[]> Links { get; set; } = [];

    public static string RunWorkflowId(string activityId) => IdPrefix + activityId;
}
