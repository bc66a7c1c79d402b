using Bastion.Engine.Errors;
using Bastion.Engine.Tasks;
using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// ResetWorkflowExecution: a new run whose history is the base run's up to a workflow task, that task failed with
/// cause ResetWorkflow, the signals received after that point (unless excluded) and a new workflow task. Its
/// mutable state is rebuilt from those events. The running workflow, if any, is terminated in the same
/// transition that creates the new run.
/// </summary>
internal sealed partial class HistoryEngine
{
    public Task<ResetWorkflowExecutionResponse> ResetAsync(WorkflowKey baseKey, ResetWorkflowExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return WithWorkflowIdAsync(baseKey.NamespaceId, baseKey.WorkflowId, async currentRunId =>
        {
            var currentKey = baseKey with { RunId = currentRunId ?? baseKey.RunId };
            var (currentRequestId, currentOpen) = await ReadAsync(currentKey, c => (c.State.StartRequestId, c.State.IsOpen)).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(request.RequestId) && currentRequestId == request.RequestId)
            {
                return new ResetWorkflowExecutionResponse { RunId = currentKey.RunId }; // a retried reset
            }

            var reset = await ReadAsync(baseKey, c => NewResetRun(c, request)).ConfigureAwait(false);
            if (currentOpen)
            {
                await TerminateAndReplaceAsync(currentKey, reset, request.Identity, $"reset: {request.Reason}").ConfigureAwait(false);
            }
            else
            {
                await CreateRunAsync(reset, currentKey.RunId).ConfigureAwait(false);
            }

            return new ResetWorkflowExecutionResponse { RunId = reset.State.RunId };
        });
    }

    /// <summary>The new run of a reset, from the base run's history (read under its lock).</summary>
    private Mutation NewResetRun(WorkflowContext baseRun, ResetWorkflowExecutionRequest request)
    {
        var events = EventsOf(baseRun);
        var (task, keep) = ResetPoint(events, request.WorkflowTaskFinishEventId);
        var kept = events.Take((int)keep).ToList();
        CheckNoPendingChildren(kept);

        var b = baseRun.State;
        var now = Now;
        var runId = Guid.NewGuid().ToString();
        var started = kept[0].WorkflowExecutionStartedEventAttributes;
        var state = new WorkflowState
        {
            NamespaceId = b.NamespaceId,
            WorkflowId = b.WorkflowId,
            RunId = runId,
            FirstRunId = b.FirstRunId,
            WorkflowType = b.WorkflowType,
            TaskQueue = b.TaskQueue,
            StartTime = now,
            ExecutionTime = now,
            ExecutionTimeout = b.ExecutionTimeout,
            ExpirationTime = b.ExpirationTime,
            RunTimeout = b.RunTimeout,
            TaskTimeout = b.TaskTimeout,
            StartRequestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId,
            Memo = started.Memo?.ToByteArray(),
            SearchAttributes = started.SearchAttributes?.ToByteArray(),
            ParentWorkflowId = b.ParentWorkflowId,
            ParentRunId = b.ParentRunId,
            ParentInitiatedEventId = b.ParentInitiatedEventId,
        };
        var context = new WorkflowContext(new WorkflowKey(b.NamespaceId, b.WorkflowId, runId), ShardOf(b.NamespaceId, b.WorkflowId), state, 0) { Events = [] };
        var m = new Mutation(context, now);
        Rebuild(m, kept);

        m.AddEvent(new HistoryEvent
        {
            EventType = EventType.WorkflowTaskFailed,
            WorkflowTaskFailedEventAttributes = new()
            {
                ScheduledEventId = task.ScheduledEventId,
                StartedEventId = task.StartedEventId,
                Cause = WorkflowTaskFailedCause.ResetWorkflow,
                Failure = new Temporalio.Api.Failure.V1.Failure { Message = request.Reason, ResetWorkflowFailureInfo = new() },
                Identity = request.Identity,
                BaseRunId = b.RunId,
                NewRunId = runId,
            },
        });
        if (ReappliesSignals(request))
        {
            foreach (var signal in events.Skip((int)keep).Where(e => e.EventType == EventType.WorkflowExecutionSignaled))
            {
                m.AddEvent(new HistoryEvent { EventType = EventType.WorkflowExecutionSignaled, WorkflowExecutionSignaledEventAttributes = signal.WorkflowExecutionSignaledEventAttributes.Clone() });
            }
        }

        ScheduleWorkflowTask(m);
        AddRunDeadline(m);
        return m;
    }

    /// <summary>
    /// The workflow task a reset goes back to, and how many events of history the new run keeps (through that
    /// task's started event). The point is a WorkflowTaskCompleted, -Failed or -TimedOut event, or a WorkflowTaskStarted.
    /// </summary>
    private static ((long ScheduledEventId, long StartedEventId) Task, long Keep) ResetPoint(List<HistoryEvent> events, long eventId)
    {
        if (eventId <= 0 || eventId > events.Count)
        {
            throw ServiceException.InvalidArgument(
                $"WorkflowTaskFinishEventId {eventId} is not an event of this run (its history has events 1 to {events.Count}).");
        }

        var e = events[(int)eventId - 1];
        (long Scheduled, long Started) task = e.EventType switch
        {
            EventType.WorkflowTaskCompleted => (e.WorkflowTaskCompletedEventAttributes.ScheduledEventId, e.WorkflowTaskCompletedEventAttributes.StartedEventId),
            EventType.WorkflowTaskFailed => (e.WorkflowTaskFailedEventAttributes.ScheduledEventId, e.WorkflowTaskFailedEventAttributes.StartedEventId),
            EventType.WorkflowTaskTimedOut => (e.WorkflowTaskTimedOutEventAttributes.ScheduledEventId, e.WorkflowTaskTimedOutEventAttributes.StartedEventId),
            EventType.WorkflowTaskStarted => (e.WorkflowTaskStartedEventAttributes.ScheduledEventId, e.EventId),
            _ => throw ServiceException.InvalidArgument(
                $"Event {eventId} is a {e.EventType} event: a reset goes to a WorkflowTaskCompleted, WorkflowTaskFailed, WorkflowTaskTimedOut or WorkflowTaskStarted event."),
        };
        if (task.Started <= 0)
        {
            throw ServiceException.InvalidArgument($"Event {eventId} ends a workflow task that never started: no worker state to reset to.");
        }

        return (task, task.Started);
    }

    private static void CheckNoPendingChildren(List<HistoryEvent> kept)
    {
        var pending = new HashSet<long>();
        foreach (var e in kept)
        {
            if (e.EventType == EventType.StartChildWorkflowExecutionInitiated)
            {
                pending.Add(e.EventId);
            }
            else if (ChildOutcomeInitiatedId(e) is { } initiated)
            {
                pending.Remove(initiated);
            }
        }

        if (pending.Count > 0)
        {
            throw new ServiceException(
                ErrorKind.InvalidArgument,
                $"Cannot reset to event {kept[^1].EventId}: child workflows initiated at events {string.Join(", ", pending.Order())} were still pending there. Reset to a point before they started or after they closed.");
        }
    }

    private static long? ChildOutcomeInitiatedId(HistoryEvent e) => e.EventType switch
    {
        EventType.StartChildWorkflowExecutionFailed => e.StartChildWorkflowExecutionFailedEventAttributes.InitiatedEventId,
        EventType.ChildWorkflowExecutionCompleted => e.ChildWorkflowExecutionCompletedEventAttributes.InitiatedEventId,
        EventType.ChildWorkflowExecutionFailed => e.ChildWorkflowExecutionFailedEventAttributes.InitiatedEventId,
        EventType.ChildWorkflowExecutionCanceled => e.ChildWorkflowExecutionCanceledEventAttributes.InitiatedEventId,
        EventType.ChildWorkflowExecutionTimedOut => e.ChildWorkflowExecutionTimedOutEventAttributes.InitiatedEventId,
        EventType.ChildWorkflowExecutionTerminated => e.ChildWorkflowExecutionTerminatedEventAttributes.InitiatedEventId,
        _ => null,
    };

    /// <summary>Signals are reapplied unless the request excludes them (or uses the deprecated reapply type None).</summary>
    private static bool ReappliesSignals(ResetWorkflowExecutionRequest request)
    {
#pragma warning disable CS0612 // Deprecated in favour of the exclude list; older clients still send it.
        if (request.ResetReapplyType == ResetReapplyType.None)
#pragma warning restore CS0612
        {
            return false;
        }

        return !request.ResetReapplyExcludeTypes.Contains(ResetReapplyExcludeType.Signal);
    }

    /// <summary>
    /// Writes <paramref name="kept"/> into the new run at the same ids and rebuilds its mutable state from them:
    /// what is still pending at the end (activities, timers, deliveries to other workflows) is tracked and
    /// dispatched again, exactly as when its event was first written.
    /// </summary>
    private static void Rebuild(Mutation m, List<HistoryEvent> kept)
    {
        var ended = new HashSet<long>();
        var cancelRequested = new Dictionary<long, long>();
        foreach (var e in kept)
        {
            var origin = e.EventType switch
            {
                EventType.ActivityTaskCompleted => e.ActivityTaskCompletedEventAttributes.ScheduledEventId,
                EventType.ActivityTaskFailed => e.ActivityTaskFailedEventAttributes.ScheduledEventId,
                EventType.ActivityTaskTimedOut => e.ActivityTaskTimedOutEventAttributes.ScheduledEventId,
                EventType.ActivityTaskCanceled => e.ActivityTaskCanceledEventAttributes.ScheduledEventId,
                EventType.TimerFired => e.TimerFiredEventAttributes.StartedEventId,
                EventType.TimerCanceled => e.TimerCanceledEventAttributes.StartedEventId,
                EventType.ExternalWorkflowExecutionSignaled => e.ExternalWorkflowExecutionSignaledEventAttributes.InitiatedEventId,
                EventType.SignalExternalWorkflowExecutionFailed => e.SignalExternalWorkflowExecutionFailedEventAttributes.InitiatedEventId,
                EventType.ExternalWorkflowExecutionCancelRequested => e.ExternalWorkflowExecutionCancelRequestedEventAttributes.InitiatedEventId,
                EventType.RequestCancelExternalWorkflowExecutionFailed => e.RequestCancelExternalWorkflowExecutionFailedEventAttributes.InitiatedEventId,
                _ => 0,
            };
            if (origin > 0)
            {
                ended.Add(origin);
            }

            if (e.EventType == EventType.ActivityTaskCancelRequested)
            {
                cancelRequested[e.ActivityTaskCancelRequestedEventAttributes.ScheduledEventId] = e.EventId;
            }
        }

        var state = m.State;
        foreach (var original in kept)
        {
            var e = m.AddEvent(original.Clone());
            var pending = !ended.Contains(e.EventId);
            switch (e.EventType)
            {
                case EventType.ActivityTaskScheduled when pending:
                    TrackActivity(m, e);
                    if (cancelRequested.TryGetValue(e.EventId, out var requestedId))
                    {
                        state.Activities[e.EventId].CancelRequested = true;
                        state.Activities[e.EventId].CancelRequestedEventId = requestedId;
                    }

                    break;
                case EventType.TimerStarted when pending:
                    TrackTimer(m, e);
                    break;
                case EventType.SignalExternalWorkflowExecutionInitiated or EventType.RequestCancelExternalWorkflowExecutionInitiated when pending:
                    TrackExternal(m, e);
                    break;
                case EventType.WorkflowTaskCompleted:
                    state.LastCompletedStartedEventId = e.WorkflowTaskCompletedEventAttributes.StartedEventId;
                    break;
                case EventType.WorkflowExecutionCancelRequested:
                    state.CancelRequested = true;
                    break;
                case EventType.UpsertWorkflowSearchAttributes:
                    UpsertSearchAttributes(state, e.UpsertWorkflowSearchAttributesEventAttributes.SearchAttributes);
                    break;
                case EventType.WorkflowPropertiesModified:
                    UpsertMemo(state, e.WorkflowPropertiesModifiedEventAttributes.UpsertedMemo);
                    break;
            }
        }
    }
}
