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
/// cause ResetWorkflow, the signals received after that point (unless excluded), what became after it of the
/// children pending there, and a new workflow task. Its mutable state is rebuilt from those events. The running
/// workflow, if any, is terminated in the same transition that creates the new run. As in Temporal 1.27+, children
/// pending at the point are kept: the reset run goes on with them, and they report to it when they close.
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
            var baseIsCurrent = currentKey == baseKey;
            if (currentOpen)
            {
                await TerminateAndReplaceAsync(currentKey, reset, request.Identity, $"reset: {request.Reason}", resetTo: baseIsCurrent).ConfigureAwait(false);
            }
            else
            {
                // The closed current run is linked to its reset run in the transition that creates it.
                await UpdateAsync(currentKey, m =>
                {
                    m.State.ResetRunId = baseIsCurrent ? reset.State.RunId : m.State.ResetRunId;
                    m.NextRun = reset;
                    m.MarkChanged();
                    return true;
                }).ConfigureAwait(false);
            }

            if (!baseIsCurrent)
            {
                // An older base run is linked after: its children still running report to the reset run from then on.
                await UpdateAsync(baseKey, m =>
                {
                    m.State.ResetRunId = reset.State.RunId;
                    m.MarkChanged();
                    return true;
                }).ConfigureAwait(false);
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
        var b = baseRun.State;

        // What happened after the point: history, and what the base run had received but not yet written.
        var after = events.Skip((int)keep).Concat(b.BufferedEvents.Select(e => HistoryEvent.Parser.ParseFrom(e))).ToList();
        var now = Now;
        var runId = RunIds.New(_time);
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
            Priority = b.Priority,
        };
        var context = new WorkflowContext(new WorkflowKey(b.NamespaceId, b.WorkflowId, runId), ShardOf(b.NamespaceId, b.WorkflowId), state, 0) { Events = [] };
        var m = new Mutation(context, now);
        Rebuild(m, kept);
        foreach (var child in state.Children.Values)
        {
            // Children pending at the point stay the base run's: starting them again finds the run it started.
            child.StartRequestId = b.Children.GetValueOrDefault(child.InitiatedEventId)?.StartRequestId ?? $"{b.RunId}/{child.InitiatedEventId}";
        }

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
        var signals = ReappliesSignals(request);
        foreach (var e in after)
        {
            if (e.EventType == EventType.WorkflowExecutionSignaled && signals)
            {
                m.AddEvent(new HistoryEvent { EventType = EventType.WorkflowExecutionSignaled, WorkflowExecutionSignaledEventAttributes = e.WorkflowExecutionSignaledEventAttributes.Clone() });
            }
            else
            {
                ReapplyChildEvent(m, e);
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

    /// <summary>
    /// What became of a child pending at the reset point, after it (Temporal 1.27+): it started, could not start or
    /// closed. The reset run records it as the base run did, so it goes on with the same child.
    /// </summary>
    private static void ReapplyChildEvent(Mutation m, HistoryEvent e)
    {
        var initiated = e.ChildWorkflowExecutionStartedEventAttributes?.InitiatedEventId ?? ChildOutcomeInitiatedId(e);
        if (initiated is not { } id || !m.State.Children.TryGetValue(id, out var child))
        {
            return;
        }

        var copy = e.Clone();
        copy.EventTime = null;
        if (e.ChildWorkflowExecutionStartedEventAttributes is { } started)
        {
            if (child.RunId is null)
            {
                child.RunId = started.WorkflowExecution.RunId;
                child.StartedEventId = m.AddEvent(copy).EventId;
                m.DeleteTask(TaskKind.StartChild, id, 0);
            }

            return;
        }

        m.State.Children.Remove(id);
        Mutation.SetStartedEventId(copy, child.StartedEventId); // the started event's id in this run
        m.AddEvent(copy);
    }

    /// <summary>The child a StartChildWorkflowExecutionFailed or child-closed event is about.</summary>
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
    /// what is still pending at the end (activities, timers, deliveries to other workflows, children) is tracked and
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
                _ => ChildOutcomeInitiatedId(e) ?? 0,
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
                case EventType.StartChildWorkflowExecutionInitiated when pending:
                    TrackChild(m, e);
                    break;
                case EventType.ChildWorkflowExecutionStarted when state.Children.TryGetValue(e.ChildWorkflowExecutionStartedEventAttributes.InitiatedEventId, out var child):
                    child.RunId = e.ChildWorkflowExecutionStartedEventAttributes.WorkflowExecution.RunId;
                    child.StartedEventId = e.EventId;
                    m.DeleteTask(TaskKind.StartChild, child.InitiatedEventId, 0);
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
