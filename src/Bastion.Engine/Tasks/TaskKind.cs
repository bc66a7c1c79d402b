namespace Bastion.Engine.Tasks;

/// <summary>
/// Durable task kinds. Transfer tasks hand work to matching once visible; timer tasks run a transition of the
/// workflow when due. A task's event id is the event it belongs to (scheduled event, timer started event…).
/// </summary>
internal enum TaskKind
{
    WorkflowTask = 1,
    ActivityTask = 2,

    // Transfer tasks the engine itself carries out, between runs.
    StartChild = 3,
    RecordChildClosed = 4,
    ApplyParentClosePolicy = 5,
    SignalExternal = 6,
    CancelExternal = 7,

    WorkflowTaskStartToCloseTimeout = 10,
    WorkflowTaskScheduleToStartTimeout = 11,
    UserTimer = 12,
    ActivityScheduleToStartTimeout = 13,
    ActivityScheduleToCloseTimeout = 14,
    ActivityStartToCloseTimeout = 15,
    ActivityHeartbeatTimeout = 16,
    WorkflowRunTimeout = 17,
    WorkflowStartBackoff = 18,

    // Temporal's DeleteHistoryEventTask: a closed run's retention ends (docs/retention.md).
    DeleteHistoryEvent = 19,

    // Nexus operations (issue 19): a start attempt (the engine's own transfer task; a retry is one due later), the
    // schedule-to-close timeout, and a cancel request delivered to the handler.
    NexusOperationStart = 20,
    NexusOperationScheduleToCloseTimeout = 21,
    NexusOperationCancel = 22,

    // A closed run started by a Nexus operation delivers its outcome to the caller (attempt: which callback).
    NexusCallback = 23,

    // A Nexus operation's schedule-to-start (until the handler started it) and start-to-close (from then) timeouts.
    NexusOperationScheduleToStartTimeout = 24,
    NexusOperationStartToCloseTimeout = 25,
}

internal static class TaskKindExtensions
{
    /// <summary>Transfer tasks that hand work to matching.</summary>
    public static bool IsDispatch(this TaskKind kind) => kind is TaskKind.WorkflowTask or TaskKind.ActivityTask;

    /// <summary>Tasks written as their run closes, which must still run after it has.</summary>
    public static bool OutlivesItsRun(this TaskKind kind) =>
        kind is TaskKind.RecordChildClosed or TaskKind.ApplyParentClosePolicy or TaskKind.DeleteHistoryEvent or TaskKind.NexusCallback;
}
