using Bastion.Engine.Errors;
using Google.Protobuf.WellKnownTypes;
using Google.Protobuf.Collections;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Protocol.V1;
using Temporalio.Api.Update.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Workflow updates. An update is admitted in memory, sent to the worker as a protocol message with the next
/// workflow task, and accepted / rejected / completed by the messages the worker returns. Acceptance and
/// completion are history events; a rejection leaves none. Callers wait for the stage they asked for.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>UpdateWorkflowExecution: admit (or find) the update and wait, within the budget, for the stage asked for.</summary>
    /// <remarks>
    /// An update not yet accepted when its run continues into a new one is admitted again on the new run (Temporal's
    /// server retries it the same way), unless the request named the run.
    /// </remarks>
    public async Task<UpdateWorkflowExecutionResponse> ExecuteUpdateAsync(
        WorkflowKey key, UpdateWorkflowExecutionRequest request, TimeSpan budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ExecuteUpdateOnRunAsync(key, request, budget, cancellationToken).ConfigureAwait(false);
            }
            catch (ServiceException e) when (e.IsWorkflowClosing && attempt < MaxUpdateRunHops && string.IsNullOrEmpty(request.WorkflowExecution?.RunId))
            {
                key = await ResolveAsync(key.NamespaceId, key.WorkflowId, null).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How many runs of one chain an update follows before the caller is told to retry.</summary>
    private const int MaxUpdateRunHops = 5;

    private async Task<UpdateWorkflowExecutionResponse> ExecuteUpdateOnRunAsync(
        WorkflowKey key, UpdateWorkflowExecutionRequest request, TimeSpan budget, CancellationToken cancellationToken)
    {
        var updateId = request.Request.Meta.UpdateId;
        var (entry, known) = await UpdateAsync(key, m => AdmitUpdate(m, request.Request)).ConfigureAwait(false);
        var waitFor = request.WaitPolicy?.LifecycleStage ?? UpdateWorkflowExecutionLifecycleStage.Completed;
        var response = new UpdateWorkflowExecutionResponse
        {
            UpdateRef = new UpdateRef { WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId }, UpdateId = updateId },
        };
        if (known != null)
        {
            response.Outcome = known;
            response.Stage = UpdateWorkflowExecutionLifecycleStage.Completed;
            return response;
        }

        (response.Stage, response.Outcome) = await WaitForUpdateAsync(entry!, waitFor, budget, cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>
    /// Update-with-start: when the start creates a run, the update is admitted in that same step, so the run's first
    /// workflow task carries it; when the workflow was already running (UseExisting), it is sent to that run.
    /// </summary>
    /// <remarks>
    /// A failure of the start is returned as <c>StartFailure</c> (nothing was started or updated); a failure after it
    /// is the update's and is thrown, so the caller reports each against its own operation.
    /// </remarks>
    public async Task<(StartWorkflowExecutionResponse? Started, ServiceException? StartFailure, UpdateWorkflowExecutionResponse? Updated)> StartWithUpdateAsync(
        string namespaceId, StartWorkflowExecutionRequest start, UpdateWorkflowExecutionRequest update, TimeSpan budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(update);
        var entry = new UpdateEntry(update.Request);
        string? newRunId = null;
        StartWorkflowExecutionResponse started;
        try
        {
            started = await StartWorkflowAsync(namespaceId, start, m =>
            {
                newRunId = m.State.RunId;
                m.Context.Updates[update.Request.Meta.UpdateId] = entry;
            }).ConfigureAwait(false);
        }
        catch (ServiceException e)
        {
            return (null, e, null);
        }

        var key = new WorkflowKey(namespaceId, start.WorkflowId, started.RunId);
        if (started.RunId != newRunId)
        {
            // An existing run (conflict policy UseExisting, or a retried start): the update goes to it.
            return (started, null, await ExecuteUpdateAsync(key, update, budget, cancellationToken).ConfigureAwait(false));
        }

        var response = new UpdateWorkflowExecutionResponse
        {
            UpdateRef = new UpdateRef { WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId }, UpdateId = update.Request.Meta.UpdateId },
        };
        var waitFor = update.WaitPolicy?.LifecycleStage ?? UpdateWorkflowExecutionLifecycleStage.Completed;
        (response.Stage, response.Outcome) = await WaitForUpdateAsync(entry, waitFor, budget, cancellationToken).ConfigureAwait(false);
        return (started, null, response);
    }

    /// <summary>PollWorkflowExecutionUpdate: the outcome (or stage) of an update already admitted or in history.</summary>
    public async Task<PollWorkflowExecutionUpdateResponse> PollUpdateAsync(
        WorkflowKey key, string updateId, UpdateWorkflowExecutionLifecycleStage waitFor, TimeSpan budget, CancellationToken cancellationToken)
    {
        var (entry, outcome, accepted) = await ReadAsync(key, c =>
        {
            if (c.Updates.TryGetValue(updateId, out var e))
            {
                return ((UpdateEntry?)e, (Outcome?)null, false);
            }

            var (found, done) = FindUpdateInHistory(EventsOf(c), updateId);
            if (found && done is null && !c.State.IsOpen)
            {
                done = new Outcome { Failure = AcceptedUpdateCompletedWorkflowFailure() };
            }

            return (null, done, found);
        }).ConfigureAwait(false);
        var response = new PollWorkflowExecutionUpdateResponse
        {
            UpdateRef = new UpdateRef { WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId }, UpdateId = updateId },
        };
        if (entry is null)
        {
            if (outcome is null && !accepted)
            {
                throw ServiceException.NotFound($"Update {ServiceException.Quote(updateId)} not found.");
            }

            response.Outcome = outcome;
            response.Stage = outcome != null ? UpdateWorkflowExecutionLifecycleStage.Completed : UpdateWorkflowExecutionLifecycleStage.Accepted;
            return response;
        }

        (response.Stage, response.Outcome) = await WaitForUpdateAsync(entry, waitFor, budget, cancellationToken).ConfigureAwait(false);
        return response;
    }

    private static async Task<(UpdateWorkflowExecutionLifecycleStage, Outcome?)> WaitForUpdateAsync(
        UpdateEntry entry, UpdateWorkflowExecutionLifecycleStage waitFor, TimeSpan budget, CancellationToken cancellationToken)
    {
        // Admitted is reached already (the entry exists): answer with the stage as it is, as Temporal does.
        Task target = waitFor switch
        {
            UpdateWorkflowExecutionLifecycleStage.Admitted => Task.CompletedTask,
            UpdateWorkflowExecutionLifecycleStage.Accepted => Task.WhenAny(entry.Accepted.Task, entry.Completed.Task),
            _ => entry.Completed.Task,
        };
        try
        {
            await target.WaitAsync(budget, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The long poll ended: the caller asks again with the stage reached so far.
        }

        if (entry.Completed.Task.IsCompleted)
        {
            return (UpdateWorkflowExecutionLifecycleStage.Completed, await entry.Completed.Task.ConfigureAwait(false));
        }

        return (entry.Accepted.Task.IsCompleted ? UpdateWorkflowExecutionLifecycleStage.Accepted : UpdateWorkflowExecutionLifecycleStage.Admitted, null);
    }

    /// <summary>Admits an update (or finds it): in flight, already completed in history, or new.</summary>
    private (UpdateEntry? Entry, Outcome? Known) AdmitUpdate(Mutation m, Request request)
    {
        var updateId = request.Meta.UpdateId;
        if (m.Context.Updates.TryGetValue(updateId, out var existing))
        {
            // The same update asked for again (a Nexus operation retried, or a second one backed by it): its callbacks
            // join the update's, as in Temporal.
            AttachToUpdate(m, existing, request);
            return (existing, null);
        }

        // An update already completed answers with its outcome and attaches nothing (Temporal's rule).
        var (accepted, outcome) = FindUpdateInHistory(EventsOf(m.Context), updateId);
        if (outcome != null)
        {
            return (null, outcome);
        }

        if (accepted && !m.State.IsOpen)
        {
            return (null, new Outcome { Failure = AcceptedUpdateCompletedWorkflowFailure() });
        }

        RequireOpen(m.State);
        if (m.State.Pause != null)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, "Workflow is paused. Cannot update the workflow.");
        }

        // Temporal's history.maxInFlightUpdates; 0 turns the limit off.
        if (_limits.MaxInFlightUpdates > 0 && m.Context.Updates.Count >= _limits.MaxInFlightUpdates)
        {
            throw new ServiceException(
                ErrorKind.ResourceExhausted,
                $"limit on number of concurrent in-flight updates has been reached ({_limits.MaxInFlightUpdates})",
                new ResourceExhaustedFailure { Cause = ResourceExhaustedCause.ConcurrentLimit, Scope = ResourceExhaustedScope.Namespace });
        }

        var entry = new UpdateEntry(request);
        if (accepted)
        {
            // Accepted before a restart: its outcome will arrive with a later workflow task.
            entry.Stage = UpdateStage.Accepted;
            entry.Accepted.TrySetResult();
            AttachUpdateCallbacks(m, updateId, request.CompletionCallbacks);
        }

        m.Context.Updates[updateId] = entry;
        if (m.State.WorkflowTask is null)
        {
            // An update does not wait out a start delay: as in Temporal its task starts the workflow.
            if (!EndStartDelay(m, speculative: true))
            {
                ScheduleWorkflowTask(m, speculative: true);
            }
        }

        return (entry, null);
    }

    /// <summary>
    /// A request for an update in flight: its completion callbacks are kept with the update — in the request until it
    /// is accepted (the acceptance records them), in the run's state after.
    /// </summary>
    private static void AttachToUpdate(Mutation m, UpdateEntry entry, Request request)
    {
        if (request.CompletionCallbacks.Count == 0)
        {
            return;
        }

        if (entry.Stage == UpdateStage.Accepted)
        {
            AttachUpdateCallbacks(m, request.Meta.UpdateId, request.CompletionCallbacks);
            return;
        }

        foreach (var callback in request.CompletionCallbacks.Where(c => !entry.Request.CompletionCallbacks.Contains(c)))
        {
            entry.Request.CompletionCallbacks.Add(callback);
        }
    }

    private static (bool Accepted, Outcome? Outcome) FindUpdateInHistory(List<HistoryEvent> events, string updateId)
    {
        var accepted = false;
        foreach (var e in events)
        {
            if (e.WorkflowExecutionUpdateAcceptedEventAttributes?.ProtocolInstanceId == updateId)
            {
                accepted = true;
            }
            else if (e.WorkflowExecutionUpdateCompletedEventAttributes is { } completed && completed.Meta?.UpdateId == updateId)
            {
                return (true, completed.Outcome);
            }
        }

        return (accepted, null);
    }

    /// <summary>Protocol messages for the updates waiting to be sent, attached to the workflow task being started.</summary>
    private static void AttachUpdateMessages(WorkflowContext context, long startedEventId, RepeatedField<Message> messages)
    {
        foreach (var (id, entry) in context.Updates)
        {
            if (entry.Stage is UpdateStage.Admitted or UpdateStage.Sent)
            {
                entry.Stage = UpdateStage.Sent;
                messages.Add(new Message
                {
                    Id = id + "/request",
                    ProtocolInstanceId = id,
                    EventId = startedEventId - 1,
                    Body = Any.Pack(entry.Request),
                });
            }
        }
    }

    /// <summary>Applies one update message the worker returned: acceptance, rejection or response.</summary>
    private static void ApplyUpdateMessage(Mutation m, Message message)
    {
        var context = m.Context;
        var updateId = message.ProtocolInstanceId;
        context.Updates.TryGetValue(updateId, out var entry);
        if (message.Body.Is(Acceptance.Descriptor))
        {
            var acceptance = message.Body.Unpack<Acceptance>();

            // The server's copy of the request when it has one: it carries the callbacks attached since it was sent.
            var acceptedRequest = entry?.Request ?? acceptance.AcceptedRequest;
            var accepted = m.AddEvent(new HistoryEvent
            {
                EventType = EventType.WorkflowExecutionUpdateAccepted,
                WorkflowExecutionUpdateAcceptedEventAttributes = new()
                {
                    ProtocolInstanceId = updateId,
                    AcceptedRequestMessageId = acceptance.AcceptedRequestMessageId,
                    AcceptedRequestSequencingEventId = acceptance.AcceptedRequestSequencingEventId,
                    AcceptedRequest = acceptedRequest,
                },
            });
            if (acceptedRequest != null)
            {
                AttachUpdateCallbacks(m, updateId, acceptedRequest.CompletionCallbacks);
            }
            if (entry != null)
            {
                entry.Stage = UpdateStage.Accepted;
                entry.AcceptedEventId = accepted.EventId;
                m.AfterCommit.Add(() => entry.Accepted.TrySetResult());
            }
        }
        else if (message.Body.Is(Response.Descriptor))
        {
            var response = message.Body.Unpack<Response>();
            var acceptedEventId = entry?.AcceptedEventId ?? 0;
            if (acceptedEventId == 0)
            {
                acceptedEventId = m.Events.Concat(m.Context.Events ?? [])
                    .FirstOrDefault(e => e.WorkflowExecutionUpdateAcceptedEventAttributes?.ProtocolInstanceId == updateId)?.EventId ?? 0;
            }

            var completed = m.AddEvent(new HistoryEvent
            {
                EventType = EventType.WorkflowExecutionUpdateCompleted,
                WorkflowExecutionUpdateCompletedEventAttributes = new() { Meta = response.Meta, AcceptedEventId = acceptedEventId, Outcome = response.Outcome },
            });
            AddUpdateCallbackTasks(m, updateId, completed.EventId);
            if (entry != null)
            {
                entry.Stage = UpdateStage.Completed;
                context.Updates.Remove(updateId);
                m.AfterCommit.Add(() =>
                {
                    entry.Accepted.TrySetResult();
                    entry.Completed.TrySetResult(response.Outcome);
                });
            }
        }
        else if (message.Body.Is(Rejection.Descriptor) && entry != null)
        {
            var rejection = message.Body.Unpack<Rejection>();
            entry.Stage = UpdateStage.Completed;
            context.Updates.Remove(updateId);
            m.AfterCommit.Add(() => entry.Completed.TrySetResult(new Outcome { Failure = rejection.Failure }));
        }
    }

    /// <summary>After a completed task: updates sent with it and left unanswered are rejected, as Temporal does.</summary>
    private static void RejectUnansweredUpdates(Mutation m)
    {
        foreach (var (id, entry) in m.Context.Updates.Where(u => u.Value.Stage == UpdateStage.Sent).ToList())
        {
            m.Context.Updates.Remove(id);
            m.AfterCommit.Add(() => entry.Completed.TrySetResult(new Outcome
            {
                Failure = new Temporalio.Api.Failure.V1.Failure
                {
                    Message = "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
                    Source = "Server",
                    ApplicationFailureInfo = new() { Type = "UnprocessedUpdate", NonRetryable = true },
                },
            }));
        }
    }

    /// <summary>A failed or timed-out task did not deliver what it carried: send it again with the next one.</summary>
    private static void ResendUpdates(WorkflowContext context)
    {
        foreach (var entry in context.Updates.Values.Where(e => e.Stage == UpdateStage.Sent))
        {
            entry.Stage = UpdateStage.Admitted;
        }
    }

    /// <summary>
    /// The run closed: as in Temporal, an accepted update that did not complete fails with a server failure as its
    /// outcome (a caller that saw it accepted expects an outcome, not an error); one not yet accepted is NOT_FOUND, or,
    /// when the run continues into a new one (continue-as-new, retry, cron), Temporal's retryable "workflow is closing",
    /// which <see cref="ExecuteUpdateAsync"/> retries on the new run.
    /// </summary>
    private static void AbortUpdates(Mutation m)
    {
        var continuing = m.NextRun != null;
        var pending = m.Context.Updates.Values.ToList();
        m.Context.Updates.Clear();
        m.AfterCommit.Add(() =>
        {
            foreach (var entry in pending)
            {
                if (entry.Stage == UpdateStage.Accepted)
                {
                    entry.Completed.TrySetResult(new Outcome { Failure = AcceptedUpdateCompletedWorkflowFailure() });
                }
                else
                {
                    var aborted = continuing ? ServiceException.WorkflowClosing() : ServiceException.NotFound("workflow update was aborted by closing workflow");
                    entry.Completed.TrySetException(aborted);
                    entry.Accepted.TrySetException(aborted);
                }
            }
        });
    }

    /// <summary>Temporal's outcome for an update accepted by a run that closed before completing it.</summary>
    private static Temporalio.Api.Failure.V1.Failure AcceptedUpdateCompletedWorkflowFailure() => new()
    {
        Message = "Workflow Update failed because the Workflow completed before the Update completed.",
        Source = "Server",
        ApplicationFailureInfo = new() { Type = "AcceptedUpdateCompletedWorkflow", NonRetryable = true },
    };
}
