using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using TaskQueue = Temporalio.Api.TaskQueue.V1.TaskQueue;

namespace Bastion.Engine.History;

/// <summary>
/// The mutable state of one workflow run: what the history implies plus what Temporal keeps outside history
/// (pending workflow task, started activities, heartbeats, buffered events, stickiness, request ids).
/// Serialized as a whole into the run's row by every transition. Protobuf values are kept as their bytes.
/// </summary>
internal sealed class WorkflowState
{
    public required string NamespaceId { get; set; }

    public required string WorkflowId { get; set; }

    public required string RunId { get; set; }

    public required string FirstRunId { get; set; }

    public required string WorkflowType { get; set; }

    public required string TaskQueue { get; set; }

    public int Status { get; set; } = 1; // WORKFLOW_EXECUTION_STATUS_RUNNING

    public DateTime StartTime { get; set; }

    public DateTime ExecutionTime { get; set; }

    public DateTime? CloseTime { get; set; }

    public TimeSpan? ExecutionTimeout { get; set; }

    /// <summary>When the chain of runs (continue-as-new) must end, from the first run's execution timeout.</summary>
    public DateTime? ExpirationTime { get; set; }

    public TimeSpan? RunTimeout { get; set; }

    public TimeSpan TaskTimeout { get; set; }

    public long NextEventId { get; set; } = 1;

    /// <summary>Started event id of the last completed workflow task (Temporal's previousStartedEventId).</summary>
    public long LastCompletedStartedEventId { get; set; }

    public long CloseEventId { get; set; }

    public long HistorySizeBytes { get; set; }

    public long StateTransitionCount { get; set; }

    public required string StartRequestId { get; set; }

    /// <summary>Request ids of signals already applied (bounded), so a retried signal is applied once.</summary>
    public List<string> SignalRequestIds { get; set; } = [];

    /// <summary>
    /// Request ids of starts that met this running workflow under USE_EXISTING and attached to it (their
    /// <c>on_conflict_options</c>), so a retried start attaches once.
    /// </summary>
    public List<string> AttachedRequestIds { get; set; } = [];

    public PendingWorkflowTask? WorkflowTask { get; set; }

    /// <summary>Someone asked the workflow to cancel (and with which request id).</summary>
    public string? CancelRequestId { get; set; }

    public bool CancelRequested { get; set; }

    /// <summary>The start was delayed and the delay has not passed: no workflow task until it has.</summary>
    public bool AwaitingStartDelay { get; set; }

    /// <summary>How many workflow tasks failed or timed out in a row (the next attempt is this + 1).</summary>
    public int WorkflowTaskFailures { get; set; }

    public string? StickyQueue { get; set; }

    public TimeSpan StickyScheduleToStartTimeout { get; set; }

    public Dictionary<long, ActivityInfo> Activities { get; set; } = [];

    public Dictionary<string, TimerInfo> Timers { get; set; } = [];

    /// <summary>Child workflows this run started and that have not closed, by initiated event id.</summary>
    public Dictionary<long, ChildInfo> Children { get; set; } = [];

    /// <summary>Completion callbacks (encoded <c>NexusCallbackToken</c>s) of the Nexus operations this run backs: told when it closes.</summary>
    public List<string> NexusCallbacks { get; set; } = [];

    /// <summary>The handler's operation token of each of <see cref="NexusCallbacks"/> (same index; shorter in states written before it was kept).</summary>
    public List<string?> NexusCallbackOperationTokens { get; set; } = [];

    /// <summary>When each of <see cref="NexusCallbacks"/> was attached (same index), for describe.</summary>
    public List<DateTime> NexusCallbackTimes { get; set; } = [];

    /// <summary>Indexes of <see cref="NexusCallbacks"/> already delivered.</summary>
    public List<int> DeliveredNexusCallbacks { get; set; } = [];

    /// <summary>Completion callbacks attached to this run's accepted updates (operations backed by an update).</summary>
    public List<UpdateCallback> UpdateCallbacks { get; set; } = [];

    /// <summary>Nexus operations this run scheduled and that have not ended, by scheduled event id.</summary>
    public Dictionary<long, NexusOperationInfo> NexusOperations { get; set; } = [];

    /// <summary>Signals (false) and cancel requests (true) to other workflows, initiated and not yet delivered, by initiated event id.</summary>
    public Dictionary<long, bool> PendingExternal { get; set; } = [];

    /// <summary>The parent run, when this run is a child workflow (same namespace).</summary>
    public string? ParentWorkflowId { get; set; }

    public string? ParentRunId { get; set; }

    public long ParentInitiatedEventId { get; set; }

    /// <summary>The run at the root of this run's tree of children (null: this run itself).</summary>
    public string? RootWorkflowId { get; set; }

    public string? RootRunId { get; set; }

    /// <summary>
    /// The run a reset of this run created (Temporal's reset run id): a child of this run that closes later is
    /// reported there, and closing this run for the reset leaves its children running for that run.
    /// </summary>
    public string? ResetRunId { get; set; }

    /// <summary>Events that arrived while a workflow task was running, written after its completion.</summary>
    public List<byte[]> BufferedEvents { get; set; } = [];

    public byte[]? Memo { get; set; }

    public byte[]? SearchAttributes { get; set; }

    /// <summary>The summary and details the run was started with (its started event's user metadata), for describe.</summary>
    public byte[]? UserMetadata { get; set; }

    /// <summary>Worker versioning (issue 21); null for a run that never met a versioned worker or an override.</summary>
    public WorkflowVersioning? Versioning { get; set; }

    /// <summary>The run's priority (its started event's; null: none), which its workflow tasks carry and its activities inherit.</summary>
    public Matching.TaskPriority? Priority { get; set; }

    /// <summary>Set when this run is a standalone activity (issue 21), not a workflow; see <see cref="StandaloneActivity"/>.</summary>
    public StandaloneActivity? Standalone { get; set; }

    /// <summary>Set when this run is a standalone Nexus operation's (HistoryEngine.StandaloneNexus): the operation's id. No worker sees such a run.</summary>
    public string? NexusOperationId { get; set; }

    /// <summary>A run that is not a workflow (<see cref="HiddenRuns"/>): no workflow task is ever scheduled for it.</summary>
    [JsonIgnore]
    public bool IsHidden => Standalone is not null || NexusOperationId is not null;

    /// <summary>Who started a standalone Nexus operation (its describe shows it).</summary>
    public string? Identity { get; set; }

    /// <summary>
    /// An operator paused the workflow (PauseWorkflowExecution): no workflow task and no activity attempt is
    /// dispatched until it is unpaused. The run stays open (<see cref="Status"/> Running); it shows as Paused.
    /// </summary>
    public PauseInfo? Pause { get; set; }

    [JsonIgnore]
    public bool IsOpen => Status == 1;

    /// <summary>
    /// The status describe and visibility show: Paused (Temporal's status 8) for an open run that is paused, or a
    /// standalone activity's run whose activity is; else <see cref="Status"/>.
    /// </summary>
    [JsonIgnore]
    public int ShownStatus => IsOpen && (Pause is not null || (Standalone is { } s && Activities.GetValueOrDefault(s.ScheduledEventId)?.Paused == true))
        ? PausedStatus
        : Status;

    public const int PausedStatus = 8; // WORKFLOW_EXECUTION_STATUS_PAUSED

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, StateJsonContext.Default.WorkflowState);

    public static WorkflowState Deserialize(byte[] data) =>
        JsonSerializer.Deserialize(data, StateJsonContext.Default.WorkflowState)
        ?? throw new InvalidDataException("Mutable state is empty.");
}

internal sealed class PendingWorkflowTask
{
    public long ScheduledEventId { get; set; }

    public long StartedEventId { get; set; }

    public int Attempt { get; set; }

    public required string TaskQueue { get; set; }

    public bool Sticky { get; set; }

    public DateTime ScheduledTime { get; set; }

    public DateTime? StartedTime { get; set; }

    public TimeSpan StartToCloseTimeout { get; set; }

    /// <summary>
    /// A retry (attempt 2+) whose scheduled and started events are not written unless it completes, as in
    /// Temporal: a failing worker does not grow history. Its event ids are reserved, not used.
    /// </summary>
    public bool Transient { get; set; }

    /// <summary>
    /// Scheduled only to deliver updates, as Temporal's speculative tasks: transient (nothing written) and, if the
    /// worker answers with rejections alone, dropped without a trace in history. Anything else makes it a normal task.
    /// </summary>
    public bool Speculative { get; set; }

    public string? StartedIdentity { get; set; }

    public string? StartedRequestId { get; set; }

    public long StartedHistorySize { get; set; }

    /// <summary>Why the started event suggests continue-as-new (empty: it does not).</summary>
    public List<SuggestContinueAsNewReason> StartedSuggestContinueAsNew { get; set; } = [];

    /// <summary>Whether, when it started, the pinned run's deployment routed new work elsewhere (for an upgrade on continue-as-new).</summary>
    public bool StartedTargetVersionChanged { get; set; }

    [JsonIgnore]
    public bool IsStarted => StartedEventId > 0;

    /// <summary>This task's WorkflowTaskScheduled event, as written (or shown, while transient).</summary>
    public HistoryEvent ScheduledEvent(string normalQueue) => new()
    {
        EventId = ScheduledEventId,
        TaskId = ScheduledEventId,
        EventTime = Timestamp.FromDateTime(ScheduledTime),
        EventType = EventType.WorkflowTaskScheduled,
        WorkflowTaskScheduledEventAttributes = new()
        {
            TaskQueue = Sticky
                ? new TaskQueue { Name = TaskQueue, Kind = TaskQueueKind.Sticky, NormalName = normalQueue }
                : new TaskQueue { Name = TaskQueue, Kind = TaskQueueKind.Normal },
            StartToCloseTimeout = Duration.FromTimeSpan(StartToCloseTimeout),
            Attempt = Attempt,
        },
    };

    /// <summary>This task's WorkflowTaskStarted event, as written (or shown, while transient).</summary>
    public HistoryEvent StartedEvent() => new()
    {
        EventId = StartedEventId,
        TaskId = StartedEventId,
        EventTime = Timestamp.FromDateTime(StartedTime!.Value),
        EventType = EventType.WorkflowTaskStarted,
        WorkflowTaskStartedEventAttributes = new()
        {
            ScheduledEventId = ScheduledEventId,
            Identity = StartedIdentity ?? string.Empty,
            RequestId = StartedRequestId ?? string.Empty,
            HistorySizeBytes = StartedHistorySize,
            SuggestContinueAsNew = StartedSuggestContinueAsNew.Count > 0,
            SuggestContinueAsNewReasons = { StartedSuggestContinueAsNew },
            TargetWorkerDeploymentVersionChanged = StartedTargetVersionChanged,
        },
    };
}

internal sealed class ActivityInfo
{
    public long ScheduledEventId { get; set; }

    public required string ActivityId { get; set; }

    public required string ActivityType { get; set; }

    public required string TaskQueue { get; set; }

    /// <summary>The ActivityTaskScheduled attributes (input, header, timeouts, retry policy) as written.</summary>
    public required byte[] ScheduledAttributes { get; set; }

    public int Attempt { get; set; } = 1;

    public DateTime FirstScheduledTime { get; set; }

    public DateTime ScheduledTime { get; set; }

    public DateTime? StartedTime { get; set; }

    public string? StartedIdentity { get; set; }

    public string? StartRequestId { get; set; }

    public DateTime? LastHeartbeatTime { get; set; }

    public byte[]? HeartbeatDetails { get; set; }

    public byte[]? LastFailure { get; set; }

    public string? LastWorkerIdentity { get; set; }

    public bool CancelRequested { get; set; }

    public long CancelRequestedEventId { get; set; }

    public TimeSpan? ScheduleToStartTimeout { get; set; }

    public TimeSpan? ScheduleToCloseTimeout { get; set; }

    public TimeSpan StartToCloseTimeout { get; set; }

    public TimeSpan? HeartbeatTimeout { get; set; }

    /// <summary>The retry policy an UpdateActivityOptions set (null: the scheduled event's).</summary>
    public byte[]? RetryPolicy { get; set; }

    /// <summary>The priority an UpdateActivityOptions set (null: the scheduled event's).</summary>
    public byte[]? Priority { get; set; }

    /// <summary>The scheduled event's own priority (null: none), kept so dispatch needs not parse the event.</summary>
    public Matching.TaskPriority? ScheduledPriority { get; set; }

    /// <summary>An operator paused the activity: no new attempt is dispatched until it is unpaused (PauseActivity).</summary>
    public PauseInfo? Pause { get; set; }

    /// <summary>
    /// An operator reset the activity while an attempt ran: that attempt learns it from its heartbeat response, and
    /// the next attempt is attempt 1 (the running attempt keeps its number, so its task token stays valid).
    /// </summary>
    public bool ResetRequested { get; set; }

    /// <summary>The next attempt is attempt 1 (a reset or an unpause with reset_attempts while an attempt ran).</summary>
    public bool ResetAttempts { get; set; }

    /// <summary>The next attempt starts without the heartbeat details of the earlier ones.</summary>
    public bool ResetHeartbeats { get; set; }

    /// <summary>When the last failed attempt ended (a rule's <c>BackoffInterval</c> is the wait from then).</summary>
    public DateTime? LastAttemptCompleteTime { get; set; }

    /// <summary>
    /// The queued attempt was released by an operator (unpause, reset): workflow rules do not pause it again at its
    /// start; they apply again from its next retry.
    /// </summary>
    public bool ReleasedByOperator { get; set; }

    [JsonIgnore]
    public bool IsStarted => StartedTime.HasValue;

    [JsonIgnore]
    public bool Paused => Pause is not null;
}

/// <summary>Who paused an activity or a workflow, when and why (DescribeWorkflowExecution's pause info).</summary>
internal sealed class PauseInfo
{
    public DateTime Time { get; set; }

    public string Identity { get; set; } = string.Empty;

    public string Reason { get; set; } = string.Empty;

    /// <summary>The pause request's id: the same request repeated is a no-op, another one FAILED_PRECONDITION.</summary>
    public string RequestId { get; set; } = string.Empty;

    /// <summary>The workflow rule that paused the activity (null: an operator did); Identity and Reason are the rule's.</summary>
    public string? RuleId { get; set; }
}

internal sealed class ChildInfo
{
    public long InitiatedEventId { get; set; }

    public required string WorkflowId { get; set; }

    public required string WorkflowType { get; set; }

    /// <summary>The namespace as the command named it (echoed in the child events).</summary>
    public required string Namespace { get; set; }

    /// <summary>The StartChildWorkflowExecutionInitiated attributes, to start the child from.</summary>
    public required byte[] InitiatedAttributes { get; set; }

    public string? RunId { get; set; }

    public long StartedEventId { get; set; }

    public int ParentClosePolicy { get; set; }

    /// <summary>
    /// The start request id of the child (null: this run's id and the initiated event id). A reset run keeps the
    /// one of the run it was reset from, so its start finds the child that run started instead of a new one.
    /// </summary>
    public string? StartRequestId { get; set; }
}

internal sealed class TimerInfo
{
    public required string TimerId { get; set; }

    public long StartedEventId { get; set; }

    public DateTime FireTime { get; set; }
}

[JsonSerializable(typeof(WorkflowState))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class StateJsonContext : JsonSerializerContext;
