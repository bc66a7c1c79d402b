using Bastion.Engine.Tasks;
using Bastion.Storage;
using Google.Protobuf;
using Google.Protobuf.Reflection;
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

    /// <summary>A schedule's new state to commit in the same transaction (the schedule action that starts this run).</summary>
    public ScheduleWrite? Schedule { get; set; }

    /// <summary>True once anything was changed that must be committed.</summary>
    public bool Changed { get; private set; }

    public void MarkChanged() => Changed = true;

    /// <summary>The namespaces' workflow rules, read when an activity attempt is about to start (null: none apply).</summary>
    public Rules.WorkflowRuleCache? Rules { get; init; }

    /// <summary>Appends an event to history now, assigning its id and time.</summary>
    public HistoryEvent AddEvent(HistoryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (State.WorkflowTask is { Transient: true, IsStarted: false } transient)
        {
            // A new event lands before a transient attempt started: write its scheduled event first, so its
            // reserved id stays true.
            transient.Transient = false;
            transient.Speculative = false;
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

        // An activity (or child) that started and ended during the workflow task buffered both events: the outcome
        // event's started id is only known now. Keyed by the scheduled (or initiated) event id it belongs to.
        var startedIds = new Dictionary<long, long>();
        foreach (var data in State.BufferedEvents)
        {
            var e = HistoryEvent.Parser.ParseFrom(data);
            LinkStartedEvent(e, startedIds);
            AddEvent(e);
            if (e.ActivityTaskStartedEventAttributes is { } started)
            {
                startedIds[started.ScheduledEventId] = e.EventId;
            }

            if (e.ChildWorkflowExecutionStartedEventAttributes is { } childStarted)
            {
                startedIds[childStarted.InitiatedEventId] = e.EventId;
                if (State.Children.TryGetValue(childStarted.InitiatedEventId, out var child))
                {
                    child.StartedEventId = e.EventId;
                }
            }
        }

        State.BufferedEvents.Clear();
        return true;
    }

    private static readonly OneofDescriptor s_attributes = HistoryEvent.Descriptor.Oneofs.Single(o => o.Name == "attributes");

    /// <summary>
    /// Sets <c>started_event_id</c> on an activity or child outcome event that was buffered before its started event
    /// had an id: every such event names its origin in <c>scheduled_event_id</c> or <c>initiated_event_id</c>.
    /// </summary>
    private static void LinkStartedEvent(HistoryEvent e, Dictionary<long, long> startedIds)
    {
        if (s_attributes.Accessor.GetCaseFieldDescriptor(e) is not { } field || field.Accessor.GetValue(e) is not IMessage attributes)
        {
            return;
        }

        var fields = attributes.Descriptor;
        var startedField = fields.FindFieldByName("started_event_id");
        var originField = fields.FindFieldByName("scheduled_event_id") ?? fields.FindFieldByName("initiated_event_id");
        if (startedField is null || originField is null || (long)startedField.Accessor.GetValue(attributes) != 0)
        {
            return;
        }

        if (startedIds.TryGetValue((long)originField.Accessor.GetValue(attributes), out var startedId))
        {
            startedField.Accessor.SetValue(attributes, startedId);
        }
    }

    /// <summary>Sets <c>started_event_id</c> on an activity or child outcome event (one that has the field).</summary>
    public static void SetStartedEventId(HistoryEvent e, long startedEventId)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (s_attributes.Accessor.GetCaseFieldDescriptor(e)?.Accessor.GetValue(e) is IMessage attributes
            && attributes.Descriptor.FindFieldByName("started_event_id") is { } field)
        {
            field.Accessor.SetValue(attributes, startedEventId);
        }
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
        // A task added earlier in this same transition is dropped too (an eager start's first workflow task): the
        // store deletes before it inserts, so the delete alone would not stop it.
        _tasks.RemoveAll(t => t.Key == key);
        _deletedTasks.Add(key);
        Changed = true;
    }

    public static HistoryEvent NewEvent(EventType type) => new() { EventType = type };
}
