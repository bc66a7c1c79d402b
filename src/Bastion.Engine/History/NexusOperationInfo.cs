namespace Bastion.Engine.History;

/// <summary>A pending Nexus operation of a run (Temporal's NexusOperationInfo in mutable state): what describe shows, what the next attempt needs.</summary>
internal sealed class NexusOperationInfo
{
    public long ScheduledEventId { get; set; }

    public required string Endpoint { get; set; }

    public required string Service { get; set; }

    public required string Operation { get; set; }

    /// <summary>The start request's id, fixed at scheduling: a handler de-duplicates retried starts by it.</summary>
    public required string RequestId { get; set; }

    public DateTime ScheduledTime { get; set; }

    public TimeSpan? ScheduleToCloseTimeout { get; set; }

    /// <summary>How long an async operation may run once started; its timer is set when the Started event is written.</summary>
    public TimeSpan? StartToCloseTimeout { get; set; }

    /// <summary>The attempt the next (or running) start is; its task carries the same number.</summary>
    public int Attempt { get; set; } = 1;

    /// <summary>Set once the handler answered with an async start: the operation runs there until its completion arrives.</summary>
    public string? OperationToken { get; set; }

    public DateTime? LastAttemptCompleteTime { get; set; }

    /// <summary>The last attempt's failure (an encoded <c>temporal.api.failure.v1.Failure</c>), while retrying.</summary>
    public byte[]? LastAttemptFailure { get; set; }

    public DateTime? NextAttemptScheduleTime { get; set; }

    /// <summary>The workflow asked to cancel the operation (the RequestCancelNexusOperation command's event id).</summary>
    public long CancelRequestedEventId { get; set; }

    /// <summary>A standalone operation's cancel request id (a retried request is acknowledged, another refused).</summary>
    public string? CancelRequestId { get; set; }
}
