using Bastion.Engine.Errors;
using Bastion.Engine.Nexus;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// The handler's side of async Nexus operations backed by a workflow run: the run started for an operation keeps the
/// operation's callback; when it closes, a durable NexusCallback task (retried until it lands, like any task) turns its
/// close event into the caller's Completed, Failed or Canceled event. A completion that arrives before the start's
/// answer was recorded writes the Started event first, as Temporal does.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Keeps the completion callbacks this server delivers itself; the frontend refused every other kind.</summary>
    private static void AttachNexusCallbacks(Mutation m, IEnumerable<Callback> callbacks)
    {
        foreach (var callback in callbacks)
        {
            if (callback.Nexus is { Url: NexusCallbackToken.SystemUrl } nexus && nexus.Header.TryGetValue(NexusCallbackToken.Header, out var token))
            {
                m.State.NexusCallbacks.Add(token);
            }
        }
    }

    private static void AddNexusCallbackTasks(Mutation m, long closeEventId, bool continuesAsNew)
    {
        // A run that continues as new hands its callbacks to the next run (NextRuns), which reports in its place.
        for (var i = 0; !continuesAsNew && i < m.State.NexusCallbacks.Count; i++)
        {
            m.AddTask(TaskKind.NexusCallback, closeEventId, i, m.Now);
        }
    }

    /// <summary>The NexusCallback task (on the closed handler run): deliver, then drop the task.</summary>
    private async Task DeliverNexusCallbackAsync(TaskRecord task)
    {
        var handlerKey = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var (token, close) = await ReadAsync(handlerKey, c => (
            NexusCallbackToken.Decode(c.State.NexusCallbacks.ElementAtOrDefault(task.Attempt)),
            EventsOf(c)[(int)task.EventId - 1])).ConfigureAwait(false);
        if (token is not null)
        {
            // Should the completion beat the start's answer, the Started event still links to the handler's run.
            var handlerNamespace = _namespaces.FindById(task.NamespaceId);
            var startedLink = NexusLinks.ToEvent(
                handlerNamespace is null ? task.NamespaceId : NexusEndpointRegistry.DisplayName(handlerNamespace), task.WorkflowId, task.RunId, 1, EventType.WorkflowExecutionStarted);
            try
            {
                await UpdateAsync(new WorkflowKey(token.NamespaceId, token.WorkflowId, token.RunId), m =>
                {
                    CompleteNexusByCallback(m, token, close, startedLink);
                    return true;
                }).ConfigureAwait(false);
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
            {
                // The caller's run is gone: nobody to tell.
            }
        }

        await UpdateAsync(handlerKey, m =>
        {
            m.DeleteTask(TaskKind.NexusCallback, task.EventId, task.Attempt);
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>On the caller's run: the handler run's close event becomes the operation's outcome (once: the operation then ends).</summary>
    private static void CompleteNexusByCallback(Mutation m, NexusCallbackToken token, HistoryEvent close, Temporalio.Api.Nexus.V1.Link startedLink)
    {
        if (!m.State.IsOpen || !m.State.NexusOperations.TryGetValue(token.ScheduledEventId, out var op) || op.RequestId != token.RequestId)
        {
            return;
        }

        if (op.OperationToken is null)
        {
            // The handler's run ended before its start's answer was recorded: the operation did start.
            m.DeleteTask(TaskKind.NexusOperationStart, op.ScheduledEventId, op.Attempt);
            RecordNexusStart(m, op, new NexusStartOutcome.Started(string.Empty, [startedLink]));
        }

        switch (close.AttributesCase)
        {
            case HistoryEvent.AttributesOneofCase.WorkflowExecutionCompletedEventAttributes:
                var payloads = close.WorkflowExecutionCompletedEventAttributes.Result;
                RecordNexusStart(m, op, new NexusStartOutcome.Completed(payloads is { Payloads_.Count: > 0 } ? payloads.Payloads_[0] : null));
                break;
            case HistoryEvent.AttributesOneofCase.WorkflowExecutionCanceledEventAttributes:
                EndNexusUnsuccessfully(m, op, new Failure
                {
                    Message = "operation canceled",
                    CanceledFailureInfo = new CanceledFailureInfo { Details = close.WorkflowExecutionCanceledEventAttributes.Details },
                }, canceled: true);
                break;
            default:
                EndNexusUnsuccessfully(m, op, HandlerRunFailure(close), canceled: false);
                break;
        }
    }

    /// <summary>Why the handler's run did not complete: its failure, or Temporal's terminated / timed-out failure.</summary>
    private static Failure HandlerRunFailure(HistoryEvent close) => close.AttributesCase switch
    {
        HistoryEvent.AttributesOneofCase.WorkflowExecutionFailedEventAttributes => close.WorkflowExecutionFailedEventAttributes.Failure,
        HistoryEvent.AttributesOneofCase.WorkflowExecutionTerminatedEventAttributes => new Failure
        {
            Message = "operation terminated",
            TerminatedFailureInfo = new TerminatedFailureInfo(),
        },
        HistoryEvent.AttributesOneofCase.WorkflowExecutionTimedOutEventAttributes => new Failure
        {
            Message = "operation exceeded internal timeout",
            TimeoutFailureInfo = new TimeoutFailureInfo { TimeoutType = TimeoutType.StartToClose },
        },
        _ => new Failure { Message = $"the handler's workflow ended with {close.EventType}" },
    };
}
