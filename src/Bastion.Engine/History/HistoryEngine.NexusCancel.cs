using Bastion.Engine.Nexus;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Cancelling a Nexus operation (the RequestCancelNexusOperation command): one not started yet is canceled at once;
/// a started one gets a cancel request delivered to its handler (a durable task, retried on retryable failures),
/// recorded as CancelRequestCompleted or CancelRequestFailed. The operation itself ends when its outcome arrives
/// (for a workflow-run operation, Canceled through its run's callback).
/// </summary>
internal sealed partial class HistoryEngine
{
    private static void CancelNexus(Mutation m, RequestCancelNexusOperationCommandAttributes a, long completedEventId)
    {
        var op = m.State.NexusOperations[a.ScheduledEventId];
        RecordNexusCancelRequested(m, op, completedEventId);
        if (op.OperationToken is null)
        {
            m.DeleteTask(TaskKind.NexusOperationStart, op.ScheduledEventId, op.Attempt);
            EndNexusUnsuccessfully(m, op, new Failure { Message = "operation canceled before it was started", CanceledFailureInfo = new CanceledFailureInfo() }, canceled: true);
        }
        else
        {
            m.AddTask(TaskKind.NexusOperationCancel, op.ScheduledEventId, 1, m.Now);
        }
    }

    private static void RecordNexusCancelRequested(Mutation m, NexusOperationInfo op, long completedEventId)
    {
        var requested = m.AddEvent(new HistoryEvent
        {
            EventType = EventType.NexusOperationCancelRequested,
            NexusOperationCancelRequestedEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, WorkflowTaskCompletedEventId = completedEventId },
        });
        op.CancelRequestedEventId = requested.EventId;
    }

    /// <summary>The NexusOperationCancel task: the handler is asked to cancel; its answer is recorded in the caller's run.</summary>
    private async Task CancelNexusOperationAsync(TaskRecord task)
    {
        var key = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var call = await ReadAsync(key, c => c.State.IsOpen && c.State.NexusOperations.TryGetValue(task.EventId, out var op) && op.OperationToken is { } token
            ? new NexusCancelCall(c.Key.NamespaceId, c.Key.WorkflowId, c.Key.RunId, op.Endpoint, op.Service, op.Operation, token)
            : null).ConfigureAwait(false);
        NexusStartOutcome.HandlerFailed? failed = null;
        if (call is not null)
        {
            failed = NexusCalls is { } calls
                ? await calls.CancelAsync(call, CancellationToken.None).ConfigureAwait(false)
                : new NexusStartOutcome.HandlerFailed(new Failure { Message = "Nexus is not configured on this server" }, Retryable: false);
        }

        await UpdateAsync(key, m =>
        {
            m.DeleteTask(TaskKind.NexusOperationCancel, task.EventId, task.Attempt);
            if (call is null || !m.State.IsOpen || !m.State.NexusOperations.TryGetValue(task.EventId, out var op))
            {
                return true;
            }

            if (failed is { Retryable: true })
            {
                var backoff = TimeSpan.FromSeconds(Math.Min(s_nexusMaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(task.Attempt - 1, 10))));
                m.AddTask(TaskKind.NexusOperationCancel, task.EventId, task.Attempt + 1, m.Now + backoff);
                return true;
            }

            m.AddExternalEvent(failed is null
                ? new HistoryEvent
                {
                    EventType = EventType.NexusOperationCancelRequestCompleted,
                    NexusOperationCancelRequestCompletedEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, RequestedEventId = op.CancelRequestedEventId },
                }
                : new HistoryEvent
                {
                    EventType = EventType.NexusOperationCancelRequestFailed,
                    NexusOperationCancelRequestFailedEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, RequestedEventId = op.CancelRequestedEventId, Failure = failed.Failure },
                },
                () => ScheduleWorkflowTask(m));
            return true;
        }).ConfigureAwait(false);
    }
}
