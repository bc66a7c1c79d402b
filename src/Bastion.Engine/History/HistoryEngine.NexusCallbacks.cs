using Bastion.Engine.Errors;
using Bastion.Engine.Nexus;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// The handler's side of async Nexus operations: a run started for an operation (a workflow run or a standalone
/// activity's run) keeps the operation's callback; when it closes, a durable NexusCallback task (retried until it
/// lands, like any task) turns its close event into the caller's Completed, Failed or Canceled event. An operation
/// backed by a workflow update keeps its callback with the update (<see cref="UpdateCallback"/>): the update's outcome
/// is delivered the same way. A completion that arrives before the start's answer was recorded writes the Started
/// event first (with the operation token of the callback's header), as Temporal does. The caller's run may live on
/// another node: the outcome goes to it as a <see cref="Cluster.CrossRunOperation.CompleteNexusOperation"/>.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>The token this server gave the handler, and the handler's operation token; null for any other callback (the frontend refused those).</summary>
    private static (string Token, string? OperationToken)? ReadNexusCallback(Callback callback)
    {
        if (callback.Nexus is not { Url: NexusCallbackToken.SystemUrl } nexus || !nexus.Header.TryGetValue(NexusCallbackToken.Header, out var token))
        {
            return null;
        }

        var operationToken = nexus.Header.FirstOrDefault(h => string.Equals(h.Key, NexusCallbackToken.OperationTokenHeader, StringComparison.OrdinalIgnoreCase)).Value;
        return (token, operationToken);
    }

    /// <summary>Keeps the completion callbacks of the run's operations (told when the run closes).</summary>
    private static void AttachNexusCallbacks(Mutation m, IEnumerable<Callback> callbacks)
    {
        var s = m.State;
        foreach (var (token, operationToken) in callbacks.Select(ReadNexusCallback).OfType<(string, string?)>())
        {
            // States written before the operation tokens and times were kept have shorter lists: pad them.
            while (s.NexusCallbackOperationTokens.Count < s.NexusCallbacks.Count)
            {
                s.NexusCallbackOperationTokens.Add(null);
            }

            while (s.NexusCallbackTimes.Count < s.NexusCallbacks.Count)
            {
                s.NexusCallbackTimes.Add(s.StartTime);
            }

            s.NexusCallbacks.Add(token);
            s.NexusCallbackOperationTokens.Add(operationToken);
            s.NexusCallbackTimes.Add(m.Now);
        }
    }

    /// <summary>Keeps the completion callbacks of an accepted update (once each: a retried request attaches nothing new).</summary>
    private static void AttachUpdateCallbacks(Mutation m, string updateId, IEnumerable<Callback> callbacks)
    {
        foreach (var (token, operationToken) in callbacks.Select(ReadNexusCallback).OfType<(string, string?)>())
        {
            if (!m.State.UpdateCallbacks.Any(c => c.UpdateId == updateId && c.Token == token))
            {
                m.State.UpdateCallbacks.Add(new UpdateCallback { UpdateId = updateId, Token = token, OperationToken = operationToken, RegistrationTime = m.Now });
                m.MarkChanged();
            }
        }
    }

    /// <summary>The update completed (its UpdateCompleted event is <paramref name="completedEventId"/>): deliver its outcome to its callbacks.</summary>
    private static void AddUpdateCallbackTasks(Mutation m, string updateId, long completedEventId)
    {
        for (var j = 0; j < m.State.UpdateCallbacks.Count; j++)
        {
            var callback = m.State.UpdateCallbacks[j];
            if (callback.UpdateId == updateId && callback.TriggerEventId == 0)
            {
                callback.TriggerEventId = completedEventId;
                m.AddTask(TaskKind.NexusCallback, completedEventId, UpdateCallbackAttempt(j), m.Now);
            }
        }
    }

    /// <summary>
    /// A NexusCallback task's attempt names its callback: i ≥ 0 the run's i-th (<see cref="WorkflowState.NexusCallbacks"/>),
    /// ~j the j-th of <see cref="WorkflowState.UpdateCallbacks"/>.
    /// </summary>
    private static int UpdateCallbackAttempt(int index) => ~index;

    private static void AddNexusCallbackTasks(Mutation m, long closeEventId, bool continuesAsNew)
    {
        // A run that continues as new hands its callbacks to the next run (NextRuns), which reports in its place.
        for (var i = 0; !continuesAsNew && i < m.State.NexusCallbacks.Count; i++)
        {
            m.AddTask(TaskKind.NexusCallback, closeEventId, i, m.Now);
        }

        // An update callback not yet delivered: an update that did not complete fails with the run's close (as
        // Temporal's updates do); one whose task is still due is written again, as the close drops the run's tasks.
        for (var j = 0; j < m.State.UpdateCallbacks.Count; j++)
        {
            var callback = m.State.UpdateCallbacks[j];
            if (!callback.Delivered)
            {
                callback.TriggerEventId = callback.TriggerEventId == 0 ? closeEventId : callback.TriggerEventId;
                m.AddTask(TaskKind.NexusCallback, callback.TriggerEventId, UpdateCallbackAttempt(j), m.Now);
            }
        }
    }

    /// <summary>The NexusCallback task (on the handler's run): deliver, then mark it delivered and drop the task.</summary>
    private async Task DeliverNexusCallbackAsync(TaskRecord task)
    {
        var handlerKey = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var delivery = await ReadAsync(handlerKey, c => CallbackDelivery(c, task)).ConfigureAwait(false);
        if (delivery is { } d && NexusCallbackToken.Decode(d.Token) is { } token)
        {
            try
            {
                // The caller's run may be another node's: its owner applies the outcome (a failure leaves this task to retry).
                await RunCrossRunAsync(ShardOf(token.NamespaceId, token.WorkflowId), new Cluster.CrossRunOperation.CompleteNexusOperation(
                    d.Token,
                    d.OperationToken,
                    [.. d.StartedLinks.Select(l => l.ToByteArray())],
                    d.Result?.ToByteArray(),
                    d.Failure?.ToByteArray(),
                    d.Canceled)).ConfigureAwait(false);
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
            {
                // The caller's run is gone: nobody to tell.
            }
        }

        await UpdateAsync(handlerKey, m =>
        {
            m.DeleteTask(TaskKind.NexusCallback, task.EventId, task.Attempt);
            if (task.Attempt < 0 && m.State.UpdateCallbacks.ElementAtOrDefault(~task.Attempt) is { } updateCallback)
            {
                updateCallback.Delivered = true;
            }
            else if (task.Attempt >= 0 && !m.State.DeliveredNexusCallbacks.Contains(task.Attempt))
            {
                m.State.DeliveredNexusCallbacks.Add(task.Attempt);
            }

            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>What one callback delivers: the caller's token, the operation's outcome, and the Started event's token and links should it come first.</summary>
    private sealed record NexusCallbackDelivery(string Token, string OperationToken, Temporalio.Api.Nexus.V1.Link[] StartedLinks, Payload? Result, Failure? Failure, bool Canceled);

    private NexusCallbackDelivery? CallbackDelivery(WorkflowContext c, TaskRecord task)
    {
        var s = c.State;
        var events = EventsOf(c);
        var trigger = events[(int)task.EventId - 1];
        var handlerNamespace = _namespaces.FindById(task.NamespaceId);
        var ns = handlerNamespace is null ? task.NamespaceId : NexusEndpointRegistry.DisplayName(handlerNamespace);
        if (task.Attempt < 0)
        {
            if (s.UpdateCallbacks.ElementAtOrDefault(~task.Attempt) is not { } callback)
            {
                return null;
            }

            var acceptedEventId = events.FirstOrDefault(e => e.WorkflowExecutionUpdateAcceptedEventAttributes?.ProtocolInstanceId == callback.UpdateId)?.EventId ?? 0;
            Temporalio.Api.Nexus.V1.Link[] links = acceptedEventId == 0 ? [] : [NexusLinks.ToEvent(ns, s.WorkflowId, s.RunId, acceptedEventId, EventType.WorkflowExecutionUpdateAccepted)];
            var outcome = trigger.WorkflowExecutionUpdateCompletedEventAttributes?.Outcome ?? new Temporalio.Api.Update.V1.Outcome { Failure = AcceptedUpdateCompletedWorkflowFailure() };
            return outcome.Failure is { } failure
                ? new(callback.Token, callback.OperationToken ?? string.Empty, links, null, failure, false)
                : new(callback.Token, callback.OperationToken ?? string.Empty, links, outcome.Success is { Payloads_.Count: > 0 } success ? success.Payloads_[0] : null, null, false);
        }

        if (s.NexusCallbacks.ElementAtOrDefault(task.Attempt) is not { } token)
        {
            return null;
        }

        // Should the completion beat the start's answer, the Started event still links to the handler's run (a
        // standalone activity's run is no workflow: no link).
        Temporalio.Api.Nexus.V1.Link[] startedLinks = s.Standalone is null ? [NexusLinks.ToEvent(ns, task.WorkflowId, task.RunId, 1, EventType.WorkflowExecutionStarted)] : [];
        var operationToken = s.NexusCallbackOperationTokens.ElementAtOrDefault(task.Attempt) ?? string.Empty;
        return trigger.AttributesCase switch
        {
            HistoryEvent.AttributesOneofCase.WorkflowExecutionCompletedEventAttributes => new(token, operationToken, startedLinks,
                trigger.WorkflowExecutionCompletedEventAttributes.Result is { Payloads_.Count: > 0 } result ? result.Payloads_[0] : null, null, false),
            HistoryEvent.AttributesOneofCase.WorkflowExecutionCanceledEventAttributes => new(token, operationToken, startedLinks, null, new Failure
            {
                Message = "operation canceled",
                CanceledFailureInfo = new CanceledFailureInfo { Details = trigger.WorkflowExecutionCanceledEventAttributes.Details },
            }, true),
            _ => new(token, operationToken, startedLinks, null, HandlerRunFailure(s, trigger), false),
        };
    }

    /// <summary>On the caller's run's node: a handler-side outcome (<see cref="DeliverNexusCallbackAsync"/>) written into the caller's run.</summary>
    private async Task CompleteNexusOperationAsync(Cluster.CrossRunOperation.CompleteNexusOperation op)
    {
        var token = NexusCallbackToken.Decode(op.CallbackToken) ?? throw ServiceException.InvalidArgument("The Nexus completion's callback token is malformed.");
        var delivery = new NexusCallbackDelivery(
            op.CallbackToken,
            op.OperationToken,
            [.. op.StartedLinks.Select(Temporalio.Api.Nexus.V1.Link.Parser.ParseFrom)],
            op.Result is { } result ? Payload.Parser.ParseFrom(result) : null,
            op.Failure is { } failure ? Failure.Parser.ParseFrom(failure) : null,
            op.Canceled);
        await UpdateAsync(new WorkflowKey(token.NamespaceId, token.WorkflowId, token.RunId), m =>
        {
            CompleteNexusByCallback(m, token, delivery);
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>On the caller's run: the outcome ends the operation (once: the operation then ends).</summary>
    private static void CompleteNexusByCallback(Mutation m, NexusCallbackToken token, NexusCallbackDelivery delivery)
    {
        if (!m.State.IsOpen || !m.State.NexusOperations.TryGetValue(token.ScheduledEventId, out var op) || op.RequestId != token.RequestId)
        {
            return;
        }

        if (op.OperationToken is null)
        {
            // The handler's run ended before its start's answer was recorded: the operation did start.
            m.DeleteTask(TaskKind.NexusOperationStart, op.ScheduledEventId, op.Attempt);
            RecordNexusStart(m, op, new NexusStartOutcome.Started(delivery.OperationToken, delivery.StartedLinks));
        }

        if (delivery.Failure is { } failure)
        {
            EndNexusUnsuccessfully(m, op, failure, delivery.Canceled);
        }
        else
        {
            RecordNexusStart(m, op, new NexusStartOutcome.Completed(delivery.Result));
        }
    }

    /// <summary>
    /// Why the handler's run did not complete: its failure, or Temporal's terminated / timed-out failure (a standalone
    /// activity's timeout is the activity's own timeout failure).
    /// </summary>
    private static Failure HandlerRunFailure(WorkflowState handler, HistoryEvent close) => close.AttributesCase switch
    {
        HistoryEvent.AttributesOneofCase.WorkflowExecutionFailedEventAttributes => close.WorkflowExecutionFailedEventAttributes.Failure,
        HistoryEvent.AttributesOneofCase.WorkflowExecutionTerminatedEventAttributes => new Failure
        {
            Message = "operation terminated",
            TerminatedFailureInfo = new TerminatedFailureInfo(),
        },
        HistoryEvent.AttributesOneofCase.WorkflowExecutionTimedOutEventAttributes when handler.Standalone?.Outcome is { } outcome
            && Temporalio.Api.Activity.V1.ActivityExecutionOutcome.Parser.ParseFrom(outcome).Failure is { } activityFailure => activityFailure,
        HistoryEvent.AttributesOneofCase.WorkflowExecutionTimedOutEventAttributes => new Failure
        {
            Message = "operation exceeded internal timeout",
            TimeoutFailureInfo = new TimeoutFailureInfo { TimeoutType = TimeoutType.StartToClose },
        },
        _ => new Failure { Message = $"the handler's workflow ended with {close.EventType}" },
    };
}
