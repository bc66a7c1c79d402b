using Bastion.Engine.Errors;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Activity.V1;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Standalone activities (issue 21): each is a run with one activity and no workflow task (see
/// <see cref="StandaloneActivity"/>), so start, dispatch, heartbeats, retries, timeouts, cancel and terminate go
/// through the same transitions, tasks and timers as a workflow's activities.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>
    /// Starts a standalone activity: a retried request (same request id) answers as the first time; a running one
    /// of the same id is ALREADY_EXISTS or, with USE_EXISTING, that run; a closed one is replaced per the reuse policy.
    /// </summary>
    public Task<StartActivityExecutionResponse> StartActivityExecutionAsync(string namespaceId, StartActivityExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireValidSearchAttributes(namespaceId, request.SearchAttributes);
        var workflowId = StandaloneActivity.RunWorkflowId(request.ActivityId);
        return WithWorkflowIdAsync(namespaceId, workflowId, async currentRunId =>
        {
            if (currentRunId != null)
            {
                var currentKey = new WorkflowKey(namespaceId, workflowId, currentRunId);
                var existing = await ReadAsync(currentKey, c => CheckExistingActivity(c.State, request)).ConfigureAwait(false);
                if (existing is { Started: false } && request.OnConflictOptions is { AttachCompletionCallbacks: true })
                {
                    await AttachToActivityAsync(currentKey, request).ConfigureAwait(false);
                }

                if (existing != null)
                {
                    return existing;
                }
            }

            var m = NewStandaloneActivityRun(namespaceId, request);
            await CreateRunAsync(m, currentRunId).ConfigureAwait(false);
            return new StartActivityExecutionResponse { RunId = m.State.RunId, Started = true };
        });
    }

    /// <summary>
    /// A start that met the running activity under USE_EXISTING attaches its completion callbacks (a second Nexus
    /// operation backed by the same activity hears of its end too); a retried request attaches once.
    /// </summary>
    private Task<bool> AttachToActivityAsync(WorkflowKey current, StartActivityExecutionRequest request) =>
        UpdateAsync(current, m =>
        {
            if (!m.State.IsOpen || m.State.AttachedRequestIds.Contains(request.RequestId))
            {
                return false;
            }

            m.State.AttachedRequestIds.Add(request.RequestId);
            AttachNexusCallbacks(m, request.CompletionCallbacks);
            m.MarkChanged();
            return true;
        });

    /// <summary>What an earlier run of the same activity id means for a start: an answer, an error, or go on (null).</summary>
    private static StartActivityExecutionResponse? CheckExistingActivity(WorkflowState current, StartActivityExecutionRequest request)
    {
        if (current.StartRequestId == request.RequestId)
        {
            return new StartActivityExecutionResponse { RunId = current.RunId, Started = true };
        }

        if (current.IsOpen)
        {
            return request.IdConflictPolicy == ActivityIdConflictPolicy.UseExisting
                ? new StartActivityExecutionResponse { RunId = current.RunId, Started = false }
                : throw ActivityAlreadyStarted(current);
        }

        return request.IdReusePolicy switch
        {
            ActivityIdReusePolicy.RejectDuplicate => throw ActivityAlreadyStarted(current),
            ActivityIdReusePolicy.AllowDuplicateFailedOnly when current.Status == (int)WorkflowExecutionStatus.Completed => throw ActivityAlreadyStarted(current),
            _ => null,
        };
    }

    private static ServiceException ActivityAlreadyStarted(WorkflowState current) =>
        new(ErrorKind.AlreadyExists, "activity execution already started", new ActivityExecutionAlreadyStartedFailure { StartRequestId = current.StartRequestId, RunId = current.RunId });

    /// <summary>The run of a new standalone activity: WorkflowExecutionStarted (as every run has), then the activity, scheduled after the start delay.</summary>
    private Mutation NewStandaloneActivityRun(string namespaceId, StartActivityExecutionRequest r)
    {
        var attributes = new SearchAttributes(r.SearchAttributes ?? new SearchAttributes());
        attributes.IndexedFields[DivisionAttribute] = new Payload
        {
            Metadata = { ["encoding"] = ByteString.CopyFromUtf8("json/plain"), ["type"] = ByteString.CopyFromUtf8("Keyword") },
            Data = ByteString.CopyFromUtf8($"\"{StandaloneActivity.Division}\""),
        };
        var started = new WorkflowExecutionStartedEventAttributes
        {
            WorkflowId = r.ActivityId,
            WorkflowType = new WorkflowType { Name = r.ActivityType.Name },
            TaskQueue = new TaskQueue { Name = r.TaskQueue.Name, Kind = TaskQueueKind.Normal },
            Identity = r.Identity,
            SearchAttributes = attributes,
            Header = r.Header,
            Priority = r.Priority,
        };
        var standalone = new StandaloneActivity { ActivityId = r.ActivityId, StartDelay = Positive(r.StartDelay), Identity = r.Identity, Links = [.. r.Links.Select(l => l.ToByteArray())] };
        var m = NewRun(namespaceId, StandaloneActivity.RunWorkflowId(r.ActivityId), started, r.RequestId, null, null, userMetadata: r.UserMetadata, links: r.Links, standalone: standalone);

        // An activity started by a Nexus operation's handler: its end completes the operation (NexusCallbacks).
        AttachNexusCallbacks(m, r.CompletionCallbacks);
        m.State.ExecutionTime = m.Now + (standalone.StartDelay ?? TimeSpan.Zero);
        ScheduleActivity(m, new ScheduleActivityTaskCommandAttributes
        {
            ActivityId = r.ActivityId,
            ActivityType = r.ActivityType,
            TaskQueue = r.TaskQueue,
            Header = r.Header,
            Input = r.Input,
            ScheduleToCloseTimeout = r.ScheduleToCloseTimeout,
            ScheduleToStartTimeout = r.ScheduleToStartTimeout,
            StartToCloseTimeout = r.StartToCloseTimeout,
            HeartbeatTimeout = r.HeartbeatTimeout,
            RetryPolicy = r.RetryPolicy,
            Priority = r.Priority,
        }, 0);
        standalone.ScheduledEventId = m.Events[^1].EventId;
        return m;
    }

    private const string DivisionAttribute = "TemporalNamespaceDivision";

    /// <summary>
    /// The activity ended with <paramref name="activityEvent"/> (completed, failed, timed out or canceled): its outcome
    /// is kept for the callers polling it and the run closes with the matching status.
    /// </summary>
    private static void FinishStandalone(Mutation m, StandaloneActivity standalone, ActivityInfo info, HistoryEvent activityEvent)
    {
        standalone.Final = info;
        var outcome = new ActivityExecutionOutcome();
        HistoryEvent close;
        switch (activityEvent.EventType)
        {
            case EventType.ActivityTaskCompleted:
                var result = activityEvent.ActivityTaskCompletedEventAttributes.Result;
                outcome.Result = result ?? new Payloads();
                close = new HistoryEvent { EventType = EventType.WorkflowExecutionCompleted, WorkflowExecutionCompletedEventAttributes = new() { Result = result } };
                break;
            case EventType.ActivityTaskFailed:
                var failed = activityEvent.ActivityTaskFailedEventAttributes;

                // As Temporal: a failure without details still yields an outcome, so a poller can tell the activity closed.
                outcome.Failure = failed.Failure ?? new Failure { Message = "activity task failed without failure details" };
                outcome.RetryState = failed.RetryState;
                close = new HistoryEvent { EventType = EventType.WorkflowExecutionFailed, WorkflowExecutionFailedEventAttributes = new() { Failure = outcome.Failure, RetryState = failed.RetryState } };
                break;
            case EventType.ActivityTaskTimedOut:
                var timedOut = activityEvent.ActivityTaskTimedOutEventAttributes;
                outcome.Failure = timedOut.Failure;
                outcome.RetryState = timedOut.RetryState;
                close = new HistoryEvent { EventType = EventType.WorkflowExecutionTimedOut, WorkflowExecutionTimedOutEventAttributes = new() { RetryState = timedOut.RetryState } };
                break;
            case EventType.ActivityTaskCanceled:
                var canceled = activityEvent.ActivityTaskCanceledEventAttributes;
                outcome.Failure = new Failure
                {
                    Message = "Activity canceled",
                    CanceledFailureInfo = new CanceledFailureInfo { Details = canceled.Details, Identity = canceled.Identity },
                };
                close = new HistoryEvent { EventType = EventType.WorkflowExecutionCanceled, WorkflowExecutionCanceledEventAttributes = new() { Details = canceled.Details } };
                break;
            default:
                throw new InvalidOperationException($"{activityEvent.EventType} does not end an activity.");
        }

        standalone.Outcome = outcome.ToByteArray();
        CloseWorkflow(m, close);
    }

    /// <summary>
    /// A standalone activity's run closed by anything but its activity's end (terminate, delete, a history limit): the
    /// pending activity stops where it is and the outcome is the termination, as Temporal records it.
    /// </summary>
    private static void RecordTermination(StandaloneActivity standalone, WorkflowState state, HistoryEvent closeEvent)
    {
        if (state.Activities.Remove(standalone.ScheduledEventId, out var info))
        {
            standalone.Final = info;
        }

        var terminated = closeEvent.WorkflowExecutionTerminatedEventAttributes;
        standalone.Outcome = new ActivityExecutionOutcome
        {
            Failure = new Failure
            {
                Message = terminated?.Reason ?? string.Empty,
                TerminatedFailureInfo = new TerminatedFailureInfo { Identity = terminated?.Identity ?? string.Empty },
            },
        }.ToByteArray();
    }

    /// <summary>The run of a standalone activity as a client names it (an empty run id: the latest run of that id).</summary>
    public async Task<WorkflowKey> ResolveStandaloneAsync(string namespaceId, string activityId, string? runId)
    {
        if (string.IsNullOrEmpty(activityId))
        {
            throw ServiceException.InvalidArgument("ActivityId is not set on request.");
        }

        var workflowId = StandaloneActivity.RunWorkflowId(activityId);
        if (!string.IsNullOrEmpty(runId))
        {
            return Guid.TryParse(runId, out _)
                ? new WorkflowKey(namespaceId, workflowId, runId)
                : throw ServiceException.InvalidArgument($"Invalid RunId {ServiceException.Quote(runId)}.");
        }

        var current = await GetCurrentRunIdAsync(namespaceId, workflowId).ConfigureAwait(false)
            ?? throw ActivityNotFound(activityId);
        return new WorkflowKey(namespaceId, workflowId, current);
    }

    private static ServiceException ActivityNotFound(string activityId) =>
        ServiceException.NotFound($"Activity execution {ServiceException.Quote(activityId)} not found.");

    /// <summary>Asks the activity to cancel: at once if no attempt runs, else the worker learns it from its next heartbeat. A retried request is applied once.</summary>
    public Task RequestCancelActivityExecutionAsync(WorkflowKey key, string requestId, string reason, string identity) =>
        UpdateAsync(key, m =>
        {
            var standalone = RequireStandalone(m.State, key);
            if (!string.IsNullOrEmpty(requestId) && standalone.CancelRequestId == requestId)
            {
                return false;
            }

            if (!m.State.IsOpen)
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, "activity execution is already closed");
            }

            if (standalone.CancelRequestId != null)
            {
                return false; // Already asked: the first request stands.
            }

            standalone.CancelRequestId = string.IsNullOrEmpty(requestId) ? Guid.NewGuid().ToString() : requestId;
            standalone.CanceledReason = reason;
            var info = m.State.Activities[standalone.ScheduledEventId];
            if (RequestCancelActivity(m, standalone.ScheduledEventId, 0))
            {
                var canceled = m.Events[^1];
                canceled.ActivityTaskCanceledEventAttributes.Identity = identity;
                FinishStandalone(m, standalone, info, canceled);
            }

            m.MarkChanged();
            return true;
        });

    /// <summary>Terminates the activity (a retried request with the same id succeeds again once it is terminated).</summary>
    public Task TerminateActivityExecutionAsync(WorkflowKey key, string requestId, string reason, string identity) =>
        UpdateAsync(key, m =>
        {
            var standalone = RequireStandalone(m.State, key);
            if (!m.State.IsOpen)
            {
                return !string.IsNullOrEmpty(requestId) && standalone.TerminateRequestId == requestId
                    ? false
                    : throw new ServiceException(ErrorKind.FailedPrecondition, "activity execution is already closed");
            }

            standalone.TerminateRequestId = requestId;
            CloseWorkflow(m, new HistoryEvent
            {
                EventType = EventType.WorkflowExecutionTerminated,
                WorkflowExecutionTerminatedEventAttributes = new() { Reason = reason, Identity = identity },
            });
            return true;
        });

    /// <summary>Deletes the activity's run (terminating it first when it still runs).</summary>
    public async Task DeleteActivityExecutionAsync(WorkflowKey key)
    {
        await ReadAsync(key, c => RequireStandalone(c.State, key)).ConfigureAwait(false);
        await DeleteAsync(key).ConfigureAwait(false);
    }

    /// <summary>
    /// Describes the activity. With a long-poll token (from an earlier describe) waits up to <paramref name="maxWait"/>
    /// for a change and answers empty if none came, as Temporal does.
    /// </summary>
    public async Task<DescribeActivityExecutionResponse> DescribeActivityExecutionAsync(
        WorkflowKey key, DescribeActivityExecutionRequest request, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        long? seen = null;
        if (!request.LongPollToken.IsEmpty)
        {
            seen = long.TryParse(request.LongPollToken.ToStringUtf8(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
                ? count
                : throw ServiceException.InvalidArgument("invalid long poll token");
        }

        var response = await WaitForStandaloneAsync(
            key,
            s => seen is not { } before || s.StateTransitionCount != before || !s.IsOpen,
            s => StandaloneActivityDescriptions.Describe(s, request),
            maxWait,
            cancellationToken).ConfigureAwait(false);
        return response ?? new DescribeActivityExecutionResponse();
    }

    /// <summary>Waits up to <paramref name="maxWait"/> for the activity's outcome; an empty answer invites the caller to poll again.</summary>
    public async Task<PollActivityExecutionResponse> PollActivityExecutionAsync(WorkflowKey key, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var response = await WaitForStandaloneAsync(
            key,
            s => !s.IsOpen,
            s => new PollActivityExecutionResponse { RunId = s.RunId, Outcome = StandaloneActivityDescriptions.OutcomeOf(s.Standalone!) },
            maxWait,
            cancellationToken).ConfigureAwait(false);
        return response ?? new PollActivityExecutionResponse();
    }

    /// <summary>Reads the run once <paramref name="ready"/> holds, waiting on its changes; null when the wait ran out first.</summary>
    private async Task<T?> WaitForStandaloneAsync<T>(
        WorkflowKey key, Func<WorkflowState, bool> ready, Func<WorkflowState, T> read, TimeSpan maxWait, CancellationToken cancellationToken)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(maxWait);
        while (true)
        {
            var context = await GetContextAsync(key).ConfigureAwait(false);
            var changed = context.Changed;
            var answer = await ReadAsync(key, c =>
            {
                RequireStandalone(c.State, key);
                return ready(c.State) ? read(c.State) : null;
            }).ConfigureAwait(false);
            if (answer != null)
            {
                return answer;
            }

            try
            {
                await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    /// <summary>The run must be a standalone activity: a workflow's run under such an id does not exist for these calls.</summary>
    private static StandaloneActivity RequireStandalone(WorkflowState state, WorkflowKey key) =>
        state.Standalone ?? throw ActivityNotFound(key.WorkflowId);
}
