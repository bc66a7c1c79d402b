using Bastion.Engine.Errors;
using Bastion.Engine.Nexus;
using Bastion.Engine.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Nexus.V1;
using Temporalio.Api.WorkflowService.V1;
using Failure = Temporalio.Api.Failure.V1.Failure;

namespace Bastion.Engine.History;

/// <summary>
/// Standalone Nexus operations (<c>StartNexusOperationExecution</c> and the rest): an operation a client starts
/// outside any workflow. Each is kept as a run of its own that no worker sees — its workflow id is the operation id
/// behind <see cref="NexusOperationRuns.WorkflowIdPrefix"/>, its first event the operation's Scheduled event — so the
/// caller side of Nexus (start attempts, retries, timeouts, callbacks, cancellation), durability on every store,
/// shards and retention are the workflow machinery's. Where a workflow would get a workflow task the run gets none;
/// the operation's outcome event closes the run. Its visibility row carries Temporal's
/// <c>TemporalNamespaceDivision</c>, which keeps it out of workflow lists.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>The scheduled event id of a standalone operation: its run's first event.</summary>
    private const long StandaloneScheduledEventId = 1;

    public Task<StartNexusOperationExecutionResponse> StartNexusOperationExecutionAsync(string namespaceId, StartNexusOperationExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireValidSearchAttributes(namespaceId, request.SearchAttributes);
        var workflowId = NexusOperationRuns.WorkflowIdOf(request.OperationId);
        return WithWorkflowIdAsync(namespaceId, workflowId, async currentRunId =>
        {
            if (currentRunId != null)
            {
                var existing = await ReadAsync(new WorkflowKey(namespaceId, workflowId, currentRunId), c => CheckExistingOperation(c.State, request)).ConfigureAwait(false);
                if (existing != null)
                {
                    return existing;
                }
            }

            var m = NewOperationRun(namespaceId, workflowId, request);
            await CreateRunAsync(m, currentRunId).ConfigureAwait(false);
            return new StartNexusOperationExecutionResponse { RunId = m.Context.Key.RunId, Started = true };
        });
    }

    /// <summary>What an earlier operation of the same id means for a start (Temporal's id reuse and conflict policies).</summary>
    private static StartNexusOperationExecutionResponse? CheckExistingOperation(WorkflowState current, StartNexusOperationExecutionRequest request)
    {
        if (current.StartRequestId == request.RequestId)
        {
            return new StartNexusOperationExecutionResponse { RunId = current.RunId, Started = true };
        }

        if (current.IsOpen)
        {
            return request.IdConflictPolicy == NexusOperationIdConflictPolicy.UseExisting
                ? new StartNexusOperationExecutionResponse { RunId = current.RunId, Started = false }
                : throw OperationAlreadyStarted(current, $"Nexus operation is already running. OperationId: {request.OperationId}, RunId: {current.RunId}.");
        }

        return request.IdReusePolicy switch
        {
            NexusOperationIdReusePolicy.RejectDuplicate =>
                throw OperationAlreadyStarted(current, $"Nexus operation already finished and the id reuse policy is RejectDuplicate. OperationId: {request.OperationId}, RunId: {current.RunId}."),
            NexusOperationIdReusePolicy.AllowDuplicateFailedOnly when current.Status == (int)WorkflowExecutionStatus.Completed =>
                throw OperationAlreadyStarted(current, $"Nexus operation already finished successfully and the id reuse policy is AllowDuplicateFailedOnly. OperationId: {request.OperationId}, RunId: {current.RunId}."),
            _ => null,
        };
    }

    private static ServiceException OperationAlreadyStarted(WorkflowState current, string message) =>
        new(ErrorKind.AlreadyExists, message, new NexusOperationExecutionAlreadyStartedFailure { StartRequestId = current.StartRequestId, RunId = current.RunId });

    /// <summary>The operation's run: its state, then the Scheduled event with its first start attempt and timers.</summary>
    private Mutation NewOperationRun(string namespaceId, string workflowId, StartNexusOperationExecutionRequest r)
    {
        var now = Now;
        var runId = RunIds.New(_time);
        var state = new WorkflowState
        {
            NamespaceId = namespaceId,
            WorkflowId = workflowId,
            RunId = runId,
            FirstRunId = runId,
            WorkflowType = string.Empty,
            TaskQueue = string.Empty,
            StartTime = now,
            ExecutionTime = now,
            TaskTimeout = TimeSpan.Zero,
            StartRequestId = r.RequestId,
            NexusOperationId = r.OperationId,
            SearchAttributes = NexusOperationRuns.SearchAttributesOf(r).ToByteArray(),
            UserMetadata = r.UserMetadata?.ToByteArray(),
            Identity = r.Identity,
        };
        var context = new WorkflowContext(new WorkflowKey(namespaceId, workflowId, runId), ShardOf(namespaceId, workflowId), state, 0) { Events = [] };
        var m = new Mutation(context, now);
        ScheduleNexus(m, new ScheduleNexusOperationCommandAttributes
        {
            Endpoint = r.Endpoint,
            Service = r.Service,
            Operation = r.Operation,
            Input = r.Input,
            ScheduleToCloseTimeout = r.ScheduleToCloseTimeout,
            ScheduleToStartTimeout = r.ScheduleToStartTimeout,
            StartToCloseTimeout = r.StartToCloseTimeout,
            NexusHeader = { r.NexusHeader },
        }, completedEventId: 0);
        return m;
    }

    /// <summary>The operation's outcome event closes its run (with the workflow status of the same name).</summary>
    private static void CloseOperationRun(Mutation m, HistoryEvent outcome)
    {
        var state = m.State;
        var close = m.AddEvent(outcome);
        AddCloseNotifications(m, close.EventId, continuesAsNew: false);
        state.CloseEventId = close.EventId;
        state.CloseTime = m.Now;
        state.Status = (int)(outcome.EventType switch
        {
            EventType.NexusOperationCompleted => WorkflowExecutionStatus.Completed,
            EventType.NexusOperationCanceled => WorkflowExecutionStatus.Canceled,
            EventType.NexusOperationTimedOut => WorkflowExecutionStatus.TimedOut,
            _ => WorkflowExecutionStatus.Failed,
        });
        m.DeleteAllTasks = true;
    }

    /// <summary>
    /// Asks the operation to cancel. As in Temporal, the request goes to the handler once the operation has started
    /// (it needs the operation's token); until then it waits. The same request again is acknowledged; another one is
    /// FAILED_PRECONDITION.
    /// </summary>
    public Task RequestCancelNexusOperationExecutionAsync(WorkflowKey key, string requestId) => UpdateAsync(key, m =>
    {
        RequireOperation(m.State);
        if (!m.State.IsOpen || !m.State.NexusOperations.TryGetValue(StandaloneScheduledEventId, out var op))
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, "Nexus operation already completed.");
        }

        if (op.CancelRequestedEventId != 0)
        {
            return op.CancelRequestId == requestId
                ? true
                : throw new ServiceException(ErrorKind.FailedPrecondition, $"Cancellation already requested with request ID {op.CancelRequestId}.");
        }

        RecordNexusCancelRequested(m, op, completedEventId: 0);
        op.CancelRequestId = requestId;
        if (op.OperationToken is not null)
        {
            m.AddTask(TaskKind.NexusOperationCancel, op.ScheduledEventId, 1, m.Now);
        }

        return true;
    });

    public async Task TerminateNexusOperationExecutionAsync(WorkflowKey key, string reason, string identity)
    {
        await ReadAsync(key, c => RequireOperation(c.State)).ConfigureAwait(false);
        await TerminateAsync(key, reason, null, identity).ConfigureAwait(false);
    }

    public async Task DeleteNexusOperationExecutionAsync(WorkflowKey key)
    {
        await ReadAsync(key, c => RequireOperation(c.State)).ConfigureAwait(false);
        await DeleteAsync(key).ConfigureAwait(false);
    }

    public Task<DescribeNexusOperationExecutionResponse> DescribeNexusOperationExecutionAsync(WorkflowKey key, bool includeInput, bool includeOutcome) => ReadAsync(key, c =>
    {
        var s = RequireOperation(c.State);
        var events = EventsOf(c);
        var scheduled = events[0].NexusOperationScheduledEventAttributes;
        var pending = s.NexusOperations.GetValueOrDefault(StandaloneScheduledEventId);
        var started = events.FirstOrDefault(e => e.EventType == EventType.NexusOperationStarted);
        var info = new NexusOperationExecutionInfo
        {
            OperationId = s.NexusOperationId,
            RunId = s.RunId,
            Endpoint = scheduled.Endpoint,
            Service = scheduled.Service,
            Operation = scheduled.Operation,
            Status = NexusOperationRuns.StatusOf((WorkflowExecutionStatus)s.Status),
            ScheduleToCloseTimeout = scheduled.ScheduleToCloseTimeout,
            ScheduleToStartTimeout = scheduled.ScheduleToStartTimeout,
            StartToCloseTimeout = scheduled.StartToCloseTimeout,
            ScheduleTime = Timestamp.FromDateTime(s.StartTime),
            CloseTime = ToTimestamp(s.CloseTime),
            ExecutionDuration = s.CloseTime is { } closed ? Duration.FromTimeSpan(closed - s.StartTime) : null,
            RequestId = scheduled.RequestId,
            OperationToken = started?.NexusOperationStartedEventAttributes.OperationToken ?? string.Empty,
            StateTransitionCount = s.StateTransitionCount,
            SearchAttributes = NexusOperationRuns.UserSearchAttributes(s.SearchAttributes),
            NexusHeader = { scheduled.NexusHeader },
            UserMetadata = s.UserMetadata is { } metadata ? Temporalio.Api.Sdk.V1.UserMetadata.Parser.ParseFrom(metadata) : null,
            Identity = s.Identity ?? string.Empty,
        };
        if (started is not null)
        {
            info.Links.AddRange(started.Links);
        }

        if (scheduled.ScheduleToCloseTimeout?.ToTimeSpan() is { } toClose && toClose > TimeSpan.Zero)
        {
            info.ExpirationTime = Timestamp.FromDateTime(s.StartTime + toClose);
        }

        if (pending is not null && PendingNexusOf(s).FirstOrDefault() is { } p)
        {
            info.State = p.State;
            info.Attempt = p.Attempt;
            info.LastAttemptCompleteTime = p.LastAttemptCompleteTime;
            info.LastAttemptFailure = p.LastAttemptFailure;
            info.NextAttemptScheduleTime = p.NextAttemptScheduleTime;
        }

        var response = new DescribeNexusOperationExecutionResponse { RunId = s.RunId, Info = info };
        if (includeInput)
        {
            response.Input = scheduled.Input;
        }

        if (includeOutcome && OutcomeOf(s, events) is var (result, failure))
        {
            response.Result = result;
            response.Failure = failure;
        }

        return response;
    });

    /// <summary>
    /// Waits (up to <paramref name="wait"/>) for the operation to reach the stage: started (an operation token, or closed) or
    /// closed. An answer without an outcome means "not yet"; the SDK asks again.
    /// </summary>
    public async Task<PollNexusOperationExecutionResponse> PollNexusOperationExecutionAsync(WorkflowKey key, NexusOperationWaitStage stage, TimeSpan wait)
    {
        var deadline = Now + wait;
        while (true)
        {
            var (response, changed) = await ReadAsync(key, c =>
            {
                var s = RequireOperation(c.State);
                var events = EventsOf(c);
                var token = events.FirstOrDefault(e => e.EventType == EventType.NexusOperationStarted)?.NexusOperationStartedEventAttributes.OperationToken ?? string.Empty;
                if (!s.IsOpen)
                {
                    var answer = new PollNexusOperationExecutionResponse { RunId = s.RunId, WaitStage = NexusOperationWaitStage.Closed, OperationToken = token };
                    if (OutcomeOf(s, events) is var (result, failure))
                    {
                        if (failure is null)
                        {
                            answer.Result = result ?? new Payload();
                        }
                        else
                        {
                            answer.Failure = failure;
                        }
                    }

                    return (answer, null);
                }

                return stage == NexusOperationWaitStage.Started && token.Length > 0
                    ? (new PollNexusOperationExecutionResponse { RunId = s.RunId, WaitStage = NexusOperationWaitStage.Started, OperationToken = token }, null)
                    : ((PollNexusOperationExecutionResponse?)null, c.Changed);
            }).ConfigureAwait(false);
            if (response is not null)
            {
                return response;
            }

            var left = deadline - Now;
            if (left <= TimeSpan.Zero)
            {
                return new PollNexusOperationExecutionResponse { RunId = key.RunId };
            }

            await Task.WhenAny(changed!, Task.Delay(left, _time)).ConfigureAwait(false);
        }
    }

    /// <summary>The closed operation's result or failure (Temporal's NexusOperationFailure around the cause); null while open.</summary>
    private static (Payload? Result, Failure? Failure)? OutcomeOf(WorkflowState s, List<HistoryEvent> events)
    {
        if (s.IsOpen || s.CloseEventId == 0)
        {
            return null;
        }

        var close = events[(int)s.CloseEventId - 1];
        return close.AttributesCase switch
        {
            HistoryEvent.AttributesOneofCase.NexusOperationCompletedEventAttributes => (close.NexusOperationCompletedEventAttributes.Result, null),
            HistoryEvent.AttributesOneofCase.NexusOperationFailedEventAttributes => (null, close.NexusOperationFailedEventAttributes.Failure),
            HistoryEvent.AttributesOneofCase.NexusOperationCanceledEventAttributes => (null, close.NexusOperationCanceledEventAttributes.Failure),
            HistoryEvent.AttributesOneofCase.NexusOperationTimedOutEventAttributes => (null, close.NexusOperationTimedOutEventAttributes.Failure),
            HistoryEvent.AttributesOneofCase.WorkflowExecutionTerminatedEventAttributes => (null, new Failure
            {
                Message = string.IsNullOrEmpty(close.WorkflowExecutionTerminatedEventAttributes.Reason) ? "operation terminated" : close.WorkflowExecutionTerminatedEventAttributes.Reason,
                TerminatedFailureInfo = new Temporalio.Api.Failure.V1.TerminatedFailureInfo(),
            }),
            _ => null,
        };
    }

    /// <summary>The run is a standalone operation's (a workflow of the same key would be a client naming the wrong thing).</summary>
    private static WorkflowState RequireOperation(WorkflowState s) => s.NexusOperationId is null
        ? throw ServiceException.NotFound("Nexus operation not found.")
        : s;
}
