namespace Bastion.Engine.Tasks;

/// <summary>
/// Durable task kinds. Transfer tasks hand work to matching once visible; timer tasks run a transition of the
/// workflow when due. A task's event id is the event it belongs to (scheduled event, timer started event…).
/// </summary>
internal enum TaskKind
{
    WorkflowTask = 1,
    ActivityTask = 2,

    WorkflowTaskStartToCloseTimeout = 10,
    WorkflowTaskScheduleToStartTimeout = 11,
    UserTimer = 12,
    ActivityScheduleToStartTimeout = 13,
    ActivityScheduleToCloseTimeout = 14,
    ActivityStartToCloseTimeout = 15,
    ActivityHeartbeatTimeout = 16,
    WorkflowRunTimeout = 17,
    WorkflowStartBackoff = 18,
}

internal static class TaskKindExtensions
{
    public static bool IsTransfer(this TaskKind kind) => kind is TaskKind.WorkflowTask or TaskKind.ActivityTask;
}
