using Bastion.Engine.Errors;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// PauseWorkflowExecution and UnpauseWorkflowExecution (issue 21), as Temporal's history service applies them. A
/// paused run stays open and shows status Paused; it is given no workflow task (<see cref="ScheduleWorkflowTask"/>)
/// and no activity attempt (<see cref="DispatchActivityAttempt"/>) until it is unpaused. What arrives meanwhile
/// (signals, fired timers, activity outcomes) is recorded; a workflow task or activity attempt already running
/// finishes normally. Queries are rejected with status Paused and updates refused.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Who fails a workflow task the pause withdrew (Temporal's identity for it).</summary>
    private const string HistoryServiceIdentity = "history-service";

    public Task PauseWorkflowAsync(WorkflowKey key, string identity, string reason, string requestId) =>
        UpdateAsync(key, m =>
        {
            var state = m.State;
            RequireWorkflowRun(state, key);
            if (state.Pause is { } current)
            {
                // The same request again is a no-op; another pause of a paused workflow is refused (Temporal's rule).
                return !string.IsNullOrEmpty(requestId) && current.RequestId == requestId
                    ? false
                    : throw new ServiceException(ErrorKind.FailedPrecondition, "workflow is already paused.");
            }

            state.Pause = new PauseInfo { Time = m.Now, Identity = identity, Reason = reason, RequestId = requestId };

            // A workflow task no worker has taken would never be resolved: it fails now (recorded as Temporal does)
            // and a new one is scheduled at the unpause. One a worker runs is left to complete.
            if (state.WorkflowTask is { IsStarted: false } task)
            {
                FailWorkflowTask(
                    m,
                    new HistoryEvent
                    {
                        EventType = EventType.WorkflowTaskFailed,
                        WorkflowTaskFailedEventAttributes = new()
                        {
                            ScheduledEventId = task.ScheduledEventId,
                            Cause = WorkflowTaskFailedCause.WorkflowPauseRequestedBeforeTaskStarted,
                            Identity = HistoryServiceIdentity,
                        },
                    },
                    countsAsAttempt: false);
                state.WorkflowTaskFailures = 0;
            }

            // Queued attempts (and those waiting out a retry interval) are withdrawn; running ones go on.
            foreach (var info in state.Activities.Values.Where(a => !a.IsStarted))
            {
                WithdrawAttempt(m, info);
            }

            // Buffered while a workflow task runs, so that task's completion is accepted first (Temporal's order).
            m.AddExternalEvent(
                new HistoryEvent
                {
                    // As Temporal writes them: workers that do not know the pause events skip them.
                    WorkerMayIgnore = true,
                    EventType = EventType.WorkflowExecutionPaused,
                    WorkflowExecutionPausedEventAttributes = new() { Identity = identity, Reason = reason, RequestId = requestId },
                },
                static () => { });
            m.MarkChanged();
            return true;
        });

    /// <summary>Unpauses the run: a workflow task is scheduled and the withheld activity attempts are dispatched.</summary>
    public Task UnpauseWorkflowAsync(WorkflowKey key, string identity, string reason, string requestId) =>
        UpdateAsync(key, m =>
        {
            var state = m.State;
            RequireWorkflowRun(state, key);
            if (state.Pause is null)
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, "workflow is not paused.");
            }

            state.Pause = null;
            m.AddExternalEvent(
                new HistoryEvent
                {
                    WorkerMayIgnore = true,
                    EventType = EventType.WorkflowExecutionUnpaused,
                    WorkflowExecutionUnpausedEventAttributes = new() { Identity = identity, Reason = reason, RequestId = requestId },
                },
                static () => { });
            foreach (var info in state.Activities.Values.Where(a => !a.IsStarted && !a.Paused))
            {
                WithdrawAttempt(m, info);
                DispatchActivityAttempt(m, info, info.ScheduledTime > m.Now ? info.ScheduledTime : m.Now);
            }

            ScheduleWorkflowTask(m);
            m.MarkChanged();
            return true;
        });

    /// <summary>Pause applies to open workflow runs: a standalone activity or Nexus operation is not one.</summary>
    private static void RequireWorkflowRun(WorkflowState state, WorkflowKey key)
    {
        if (state.Standalone is not null || state.NexusOperationId is not null)
        {
            throw ServiceException.NotFound($"Workflow execution {ServiceException.Quote(key.WorkflowId)} not found.");
        }

        RequireOpen(state);
    }
}
