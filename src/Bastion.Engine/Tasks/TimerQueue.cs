using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.Tasks;

/// <summary>
/// Holds durable tasks until they are due (or, for the engine's own transfer tasks, runs them at once and again
/// after a failure), then hands them to the engine. One <see cref="ITimer"/> from the
/// injected <see cref="TimeProvider"/> is set to the earliest due time. The tasks themselves are rows in the
/// store; this is only the alarm clock, and a task the engine has since deleted is dropped when it comes due or when
/// an alarm finds it next in line, whichever is first.
/// </summary>
internal sealed partial class TimerQueue : IAsyncDisposable
{
    /// <summary>The most deleted tasks one alarm drops before it lets the lock go.</summary>
    internal const int DropChunk = 1024;

    private readonly PriorityQueue<TaskRecord, DateTime> _queue = new();
    private readonly Dictionary<TaskKey, int> _pending = [];
    private readonly Dictionary<TaskKey, DateTime> _latest = []; // the due time a pending key was last added for
    private readonly HashSet<TaskKey> _canceled = [];
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Func<TaskRecord, Task> _fire;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private DateTime _armedFor = DateTime.MaxValue;
    private bool _stopped;

    public TimerQueue(TimeProvider time, Func<TaskRecord, Task> fire, ILogger logger)
    {
        _time = time;
        _fire = fire;
        _logger = logger;
        _timer = LongTimer.Create(time, _ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void Add(TaskRecord task)
    {
        ArgumentNullException.ThrowIfNull(task);
        lock (_lock)
        {
            _canceled.Remove(task.Key);
            _pending[task.Key] = _pending.GetValueOrDefault(task.Key) + 1;
            _latest[task.Key] = task.VisibleTime;
            _queue.Enqueue(task, task.VisibleTime);
            if (task.VisibleTime < _armedFor)
            {
                Arm(task.VisibleTime);
            }
        }
    }

    /// <summary>
    /// Adds a task read from the store unless the queue already holds it for that time (it was published when it was
    /// committed, while the store was being read).
    /// </summary>
    public void AddIfAbsent(TaskRecord task)
    {
        ArgumentNullException.ThrowIfNull(task);
        lock (_lock)
        {
            if (_pending.ContainsKey(task.Key) && !_canceled.Contains(task.Key) && _latest[task.Key] == task.VisibleTime)
            {
                return;
            }
        }

        Add(task);
    }

    /// <summary>Entries held, deleted ones not yet dropped included (diagnostics and tests).</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Whether the queue holds a task of the run (diagnostics and tests).</summary>
    public bool Holds(string runId, TaskKind kind)
    {
        lock (_lock)
        {
            return _pending.Keys.Any(k => k.RunId == runId && k.Kind == (int)kind && !_canceled.Contains(k));
        }
    }

    /// <summary>Forgets every task of a shard this process no longer owns.</summary>
    public void DropShard(int shardId) => Drop(t => t.ShardId == shardId);

    /// <summary>Forgets every task of a deleted namespace.</summary>
    public void DropNamespace(string namespaceId) => Drop(t => t.NamespaceId == namespaceId);

    private void Drop(Func<TaskRecord, bool> which)
    {
        lock (_lock)
        {
            foreach (var key in _queue.UnorderedItems.Where(e => which(e.Element)).Select(e => e.Element.Key).ToList())
            {
                _canceled.Add(key);
            }
        }
    }

    /// <summary>The engine deleted this task's row: do not fire it.</summary>
    public void Cancel(TaskKey key)
    {
        lock (_lock)
        {
            if (_pending.ContainsKey(key))
            {
                _canceled.Add(key);
            }
        }
    }

    private void OnTimer()
    {
        var due = new List<TaskRecord>();
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            var now = _time.GetUtcNow().UtcDateTime;
            while (_queue.TryPeek(out _, out var at) && at <= now)
            {
                if (TakeFirst() is { } task)
                {
                    due.Add(task);
                }
            }

            // Deleted tasks next in line go now rather than each at its own time: most timeouts are deleted long before
            // they fall due (a workflow task's, an activity's), and the alarm would otherwise go off, wake a thread and
            // find nothing, once for every one of them. In chunks, the rest at once after the lock was let go: a dropped
            // shard can leave far more than a few seconds of commits do, and each commit takes this lock.
            var dropped = 0;
            while (dropped < DropChunk && _queue.TryPeek(out var head, out _) && _canceled.Contains(head.Key))
            {
                TakeFirst();
                dropped++;
            }

            _armedFor = DateTime.MaxValue;
            if (_queue.TryPeek(out var first, out var next))
            {
                Arm(dropped == DropChunk && _canceled.Contains(first.Key) ? now : next);
            }
        }

        foreach (var task in due)
        {
            _ = FireAsync(task);
        }
    }

    /// <summary>Under the lock: the earliest entry off the queue; it, or null when its task was deleted.</summary>
    private TaskRecord? TakeFirst()
    {
        var task = _queue.Dequeue();
        if (_pending[task.Key] == 1)
        {
            _pending.Remove(task.Key);
            _latest.Remove(task.Key);
        }
        else
        {
            _pending[task.Key]--;
        }

        return _canceled.Remove(task.Key) ? null : task;
    }

    private void Arm(DateTime at)
    {
        _armedFor = at;
        var delay = at - _time.GetUtcNow().UtcDateTime;
        if (delay > TimeSpan.Zero)
        {
            _timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
        else
        {
            // Due already: run now rather than wait for the clock to tick again (a test's clock only moves when told).
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            ThreadPool.UnsafeQueueUserWorkItem(static queue => queue.OnTimer(), this, preferLocal: false);
        }
    }

    private async Task FireAsync(TaskRecord task)
    {
        try
        {
            await _fire(task).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A task that fails is retried later rather than lost.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogTaskFailed(_logger, e, (TaskKind)task.Kind, task.WorkflowId, task.RunId);
            if (!_stopped)
            {
                Add(task with { VisibleTime = _time.GetUtcNow().UtcDateTime.AddSeconds(1) });
            }
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Task {Kind} of workflow {WorkflowId} run {RunId} failed; retrying in 1s.")]
    private static partial void LogTaskFailed(ILogger logger, Exception e, TaskKind kind, string workflowId, string runId);

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _stopped = true;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
    }
}
