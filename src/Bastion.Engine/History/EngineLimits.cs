namespace Bastion.Engine.History;

/// <summary>
/// Temporal's per-workflow limits, with its defaults; each is configurable (dynamic config keys in
/// <c>Bastion.Server.DynamicConfig</c>). Pending-item limits fail the workflow task with Temporal's cause;
/// exceeding a history limit terminates the workflow with a reason saying which.
/// </summary>
public sealed class EngineLimits
{
    /// <summary>
    /// Temporal's <c>system.enableActivityEagerExecution</c>: an activity whose ScheduleActivityTask command asks for it
    /// (the SDKs ask when it runs on the workflow's own task queue and the worker has a free slot) is started in the
    /// workflow task's completion and handed back in its response, without matching or a poll. On by default, as in
    /// Temporal Cloud (Temporal's own default is off).
    /// </summary>
    public bool EagerActivities { get; set; } = true;

    /// <summary>
    /// Bastion's <c>bastion.workflowTaskSyncStart</c>: a workflow task scheduled while a poll waits on its queue is started
    /// for that poll in the transition that schedules it — one commit instead of two, no transfer task written and
    /// deleted (<c>HistoryEngine.ClaimPoller</c>). On by default.
    /// </summary>
    public bool WorkflowTaskSyncStart { get; set; } = true;

    public int MaxPendingActivities { get; set; } = 2000;

    public int MaxPendingChildren { get; set; } = 2000;

    public int MaxPendingSignals { get; set; } = 2000;

    public int MaxPendingCancelRequests { get; set; } = 2000;

    /// <summary>Updates admitted and not yet completed, per workflow; more are RESOURCE_EXHAUSTED.</summary>
    public int MaxInFlightUpdates { get; set; } = 10;

    public long HistoryCountError { get; set; } = 51_200;

    public long HistoryCountWarn { get; set; } = 10_240;

    public long HistorySizeError { get; set; } = 50L * 1024 * 1024;

    public long HistorySizeWarn { get; set; } = 10L * 1024 * 1024;

    /// <summary>History length from which a workflow task's started event suggests continue-as-new.</summary>
    public long HistoryCountSuggestContinueAsNew { get; set; } = 4 * 1024;

    /// <summary>History size in bytes from which a workflow task's started event suggests continue-as-new.</summary>
    public long HistorySizeSuggestContinueAsNew { get; set; } = 4L * 1024 * 1024;
}
