using Bastion.Engine.Tasks;
using Bastion.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// One state transition in the making: the mutable state being changed, the events and tasks it produces.
/// Nothing here is visible to anyone until <see cref="HistoryEngine"/> has committed it.
/// </summary>
internal sealed class Mutation(WorkflowContext context, DateTime now)
{
    private readonly List<TaskRecord> _tasks = [];
    private readonly List<TaskKey> _deletedTasks = [];

    public WorkflowContext Context { get; } = context;

    public WorkflowState State => Context.State;

    public DateTime Now { get; } = now;

    public Timestamp NowTimestamp => Timestamp.FromDateTime(Now);

    public List<HistoryEvent> Events { get; } = [];

    public IReadOnlyList<TaskRecord> Tasks => _tasks;

    public IReadOnlyList<TaskKey> DeletedTasks => _deletedTasks;

    public bool DeleteAllTasks { get; set; }

    /// <summary>What to tell waiting callers once the transition is committed (never before).</summary>
    public List<Action> AfterCommit { get; } = [];

    /// <summary>The run this one continues as, created in the same transition (continue-as-new).</summary>
    public Mutation? NextRun { get; set; }

    /// <summary>True once anything was changed that must be committed.</summary>
    public bool Changed { get; private set; }

    public void MarkChanged() => Changed = true;

    /// <summary>Appends an event to history now, assigning its id and time.</summary>
    public HistoryEvent AddEvent(HistoryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (State.WorkflowTask is { Transient: true, IsStarted: false } transient)
        {
            // A new event lands before a transient attempt started: write its scheduled event first, so its
            // reserved id stays true.
            transient.Transient = false;
            AddEvent(transient.ScheduledEvent(State.TaskQueue));
        }

        e.EventId = State.NextEventId++;
        e.EventTime ??= NowTimestamp;
        e.TaskId = e.EventId;
        State.HistorySizeBytes += e.CalculateSize();
        Events.Add(e);
        Changed = true;
        return e;
    }

    /// <summary>
    /// Adds an event that arrives from outside the workflow's own decisions (signal, activity result, timer…):
    /// buffered while a workflow task runs, otherwise written with a workflow task scheduled to deliver it.
    /// </summary>
    public void AddExternalEvent(HistoryEvent e, Action scheduleWorkflowTask)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(scheduleWorkflowTask);
        if (State.WorkflowTask is { IsStarted: true })
        {
            e.EventTime ??= NowTimestamp;
            State.BufferedEvents.Add(e.ToByteArray());
            Changed = true;
            return;
        }

        AddEvent(e);
        scheduleWorkflowTask();
    }

    /// <summary>Writes the buffered events to history; true if there were any.</summary>
    public bool FlushBufferedEvents()
    {
        if (State.BufferedEvents.Count == 0)
        {
            return false;
        }

        // An activity (or child) that started and ended during the workflow task buffered both events; link the ids now.
        var startedIds = new Dictionary<long, long>();
        var childStartedIds = new Dictionary<long, long>();
        foreach (var data in State.BufferedEvents)
        {
            var e = HistoryEvent.Parser.ParseFrom(data);
            switch (e.AttributesCase)
            {
                case HistoryEvent.AttributesOneofCase.ActivityTaskCompletedEventAttributes when e.ActivityTaskCompletedEventAttributes.StartedEventId == 0:
                    e.ActivityTaskCompletedEventAttributes.StartedEventId = startedIds.GetValueOrDefault(e.ActivityTaskCompletedEventAttributes.ScheduledEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ActivityTaskFailedEventAttributes when e.ActivityTaskFailedEventAttributes.StartedEventId == 0:
                    e.ActivityTaskFailedEventAttributes.StartedEventId = startedIds.GetValueOrDefault(e.ActivityTaskFailedEventAttributes.ScheduledEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ActivityTaskTimedOutEventAttributes when e.ActivityTaskTimedOutEventAttributes.StartedEventId == 0:
                    e.ActivityTaskTimedOutEventAttributes.StartedEventId = startedIds.GetValueOrDefault(e.ActivityTaskTimedOutEventAttributes.ScheduledEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ActivityTaskCanceledEventAttributes when e.ActivityTaskCanceledEventAttributes.StartedEventId == 0:
                    e.ActivityTaskCanceledEventAttributes.StartedEventId = startedIds.GetValueOrDefault(e.ActivityTaskCanceledEventAttributes.ScheduledEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ChildWorkflowExecutionCompletedEventAttributes when e.ChildWorkflowExecutionCompletedEventAttributes.StartedEventId == 0:
                    e.ChildWorkflowExecutionCompletedEventAttributes.StartedEventId = childStartedIds.GetValueOrDefault(e.ChildWorkflowExecutionCompletedEventAttributes.InitiatedEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ChildWorkflowExecutionFailedEventAttributes when e.ChildWorkflowExecutionFailedEventAttributes.StartedEventId == 0:
                    e.ChildWorkflowExecutionFailedEventAttributes.StartedEventId = childStartedIds.GetValueOrDefault(e.ChildWorkflowExecutionFailedEventAttributes.InitiatedEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ChildWorkflowExecutionCanceledEventAttributes when e.ChildWorkflowExecutionCanceledEventAttributes.StartedEventId == 0:
                    e.ChildWorkflowExecutionCanceledEventAttributes.StartedEventId = childStartedIds.GetValueOrDefault(e.ChildWorkflowExecutionCanceledEventAttributes.InitiatedEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ChildWorkflowExecutionTimedOutEventAttributes when e.ChildWorkflowExecutionTimedOutEventAttributes.StartedEventId == 0:
                    e.ChildWorkflowExecutionTimedOutEventAttributes.StartedEventId = childStartedIds.GetValueOrDefault(e.ChildWorkflowExecutionTimedOutEventAttributes.InitiatedEventId);
                    break;
                case HistoryEvent.AttributesOneofCase.ChildWorkflowExecutionTerminatedEventAttributes when e.ChildWorkflowExecutionTerminatedEventAttributes.StartedEventId == 0:
                    e.ChildWorkflowExecutionTerminatedEventAttributes.StartedEventId = childStartedIds.GetValueOrDefault(e.ChildWorkflowExecutionTerminatedEventAttributes.InitiatedEventId);
                    break;
            }

            AddEvent(e);
            if (e.ActivityTaskStartedEventAttributes is { } started)
            {
                startedIds[started.ScheduledEventId] = e.EventId;
            }

            if (e.ChildWorkflowExecutionStartedEventAttributes is { } childStarted)
            {
                childStartedIds[childStarted.InitiatedEventId] = e.EventId;
                if (State.Children.TryGetValue(childStarted.InitiatedEventId, out var child))
                {
                    child.StartedEventId = e.EventId;
                }
            }
        }

        State.BufferedEvents.Clear();
        return true;
    }

    public void AddTask(TaskKind kind, long eventId, int attempt, DateTime visibleTime, string? taskQueue = null)
    {
        _tasks.Add(new TaskRecord(
            Context.ShardId,
            State.NamespaceId,
            State.WorkflowId,
            State.RunId,
            (int)kind,
            eventId,
            attempt,
            visibleTime,
            taskQueue));
        Changed = true;
    }

    public void DeleteTask(TaskKind kind, long eventId, int attempt) => DeleteTask(new TaskKey(State.RunId, (int)kind, eventId, attempt));

    /// <summary>Deletes a task row, possibly another run's (a parent consuming its child's notification).</summary>
    public void DeleteTask(TaskKey key)
    {
        _deletedTasks.Add(key);
        Changed = true;
    }

    public static HistoryEvent NewEvent(EventType type) => new() { EventType = type };
}
