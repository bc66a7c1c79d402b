using Bastion.Engine.Tasks;
using Bastion.Storage;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    /// <summary>A timer task is due: run its transition (a stale one changes nothing and writes nothing).</summary>
    private Task<bool> FireTimerAsync(TaskRecord task)
    {
        var key = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var kind = (TaskKind)task.Kind;
        return UpdateAsync(key, m =>
        {
            switch (kind)
            {
                case TaskKind.UserTimer:
                    FireUserTimer(m, task.EventId);
                    break;
                case TaskKind.WorkflowTaskStartToCloseTimeout:
                    TimeOutWorkflowTask(m, task.EventId, task.Attempt, TimeoutType.StartToClose);
                    break;
                case TaskKind.WorkflowTaskScheduleToStartTimeout:
                    TimeOutWorkflowTask(m, task.EventId, task.Attempt, TimeoutType.ScheduleToStart);
                    break;
                case TaskKind.ActivityScheduleToStartTimeout:
                case TaskKind.ActivityScheduleToCloseTimeout:
                case TaskKind.ActivityStartToCloseTimeout:
                case TaskKind.ActivityHeartbeatTimeout:
                    FireActivityTimeout(m, kind, task.EventId, task.Attempt);
                    break;
                case TaskKind.WorkflowRunTimeout:
                    TimeOutWorkflow(m);
                    break;
                case TaskKind.NexusOperationScheduleToCloseTimeout:
                case TaskKind.NexusOperationScheduleToStartTimeout:
                case TaskKind.NexusOperationStartToCloseTimeout:
                    TimeOutNexus(m, kind, task.EventId);
                    break;
                case TaskKind.WorkflowStartBackoff:
                    m.DeleteTask(TaskKind.WorkflowStartBackoff, task.EventId, 0);
                    EndStartDelay(m);
                    break;
                default:
                    throw new InvalidOperationException($"Task kind {kind} is not a timer task.");
            }

            return true;
        });
    }

    /// <summary>
    /// The workflow task was not completed in time (start-to-close), or nobody took it from the sticky queue
    /// (schedule-to-start): write WorkflowTaskTimedOut and schedule it again on the normal queue.
    /// </summary>
    private static void TimeOutWorkflowTask(Mutation m, long scheduledEventId, int attempt, TimeoutType type)
    {
        var task = m.State.WorkflowTask;
        if (!m.State.IsOpen || task is null || task.ScheduledEventId != scheduledEventId || task.Attempt != attempt)
        {
            return;
        }

        if (type == TimeoutType.StartToClose && !task.IsStarted)
        {
            return;
        }

        if (type == TimeoutType.ScheduleToStart && (task.IsStarted || !task.Sticky))
        {
            return;
        }

        FailWorkflowTask(
            m,
            new HistoryEvent
            {
                EventType = EventType.WorkflowTaskTimedOut,
                WorkflowTaskTimedOutEventAttributes = new()
                {
                    ScheduledEventId = scheduledEventId,
                    StartedEventId = task.StartedEventId,
                    TimeoutType = type,
                },
            },
            countsAsAttempt: type == TimeoutType.StartToClose);
    }

    private void TimeOutWorkflow(Mutation m)
    {
        if (!m.State.IsOpen)
        {
            return;
        }

        m.FlushBufferedEvents();
        var timeout = new Temporalio.Api.Failure.V1.Failure { Message = "workflow run timed out", TimeoutFailureInfo = new() { TimeoutType = TimeoutType.StartToClose } };
        var (retryState, nextRunId) = RetryWorkflow(m, timeout, timedOut: true);
        nextRunId ??= ScheduleNextCronRun(m, null, timeout);
        CloseWorkflow(m, new HistoryEvent
        {
            EventType = EventType.WorkflowExecutionTimedOut,
            WorkflowExecutionTimedOutEventAttributes = new()
            {
                RetryState = retryState == RetryState.RetryPolicyNotSet ? RetryState.Timeout : retryState,
                NewExecutionRunId = nextRunId ?? string.Empty,
            },
        });
    }
}
