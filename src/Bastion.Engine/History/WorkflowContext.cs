using Bastion.Storage;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// A cached run: its committed mutable state and version, its history once loaded, the lock that makes
/// transitions of one run sequential, and a signal for readers waiting on new events.
/// </summary>
internal sealed class WorkflowContext(WorkflowKey key, int shardId, WorkflowState state, long version)
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WorkflowKey Key { get; } = key;

    public int ShardId { get; } = shardId;

    public WorkflowState State { get; set; } = state;

    public long Version { get; set; } = version;

    /// <summary>The full committed history, or null until someone needs it.</summary>
    public List<HistoryEvent>? Events { get; set; }

    public SemaphoreSlim Lock { get; } = new(1, 1);

    /// <summary>The sticky queue under which the engine's sticky index lists this run (null: not listed).</summary>
    public string? IndexedStickyQueue { get; set; }

    /// <summary>What the run's committed visibility row reflects (status, attributes, memo); null: unknown, write it.</summary>
    public (int Status, byte[]? SearchAttributes, byte[]? Memo, string[]? PauseInfo)? IndexedVisibility { get; set; }

    /// <summary>Updates in flight, by update id (guarded by <see cref="Lock"/>).</summary>
    public Dictionary<string, UpdateEntry> Updates { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Queries that arrived while a workflow task was in flight (guarded by <see cref="Lock"/>): they go to the
    /// worker with the next workflow task, or as query tasks once none is pending.
    /// </summary>
    public Dictionary<string, PendingQuery> BufferedQueries { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The audit records of calls waiting on this run's history (a result long poll waits for its close): the commit
    /// that wakes them carries their records, so they answer after that one fsync, not after one more of their own.
    /// </summary>
    private List<(PendingAudit Record, bool CloseOnly)>? _waiters;

    public void AddWaiter(PendingAudit record, bool closeOnly)
    {
        var waiters = LazyInitializer.EnsureInitialized(ref _waiters);
        lock (waiters)
        {
            waiters.Add((record, closeOnly));
        }
    }

    public void RemoveWaiter(PendingAudit record)
    {
        if (Volatile.Read(ref _waiters) is { } waiters)
        {
            lock (waiters)
            {
                waiters.RemoveAll(w => w.Record == record);
            }
        }
    }

    /// <summary>How many calls wait on this run's history with a record to ride (diagnostics and tests).</summary>
    public int WaiterCount
    {
        get
        {
            if (Volatile.Read(ref _waiters) is not { } waiters)
            {
                return 0;
            }

            lock (waiters)
            {
                return waiters.Count;
            }
        }
    }

    /// <summary>The records of the waiters a commit adding events wakes (those waiting for the close only if it closes the run).</summary>
    public IReadOnlyList<PendingAudit> WaitersWokenBy(bool closes)
    {
        if (Volatile.Read(ref _waiters) is not { } waiters)
        {
            return [];
        }

        lock (waiters)
        {
            return [.. waiters.Where(w => closes || !w.CloseOnly).Select(w => w.Record)];
        }
    }

    /// <summary>Completes at the next commit of this run.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    public void NotifyChanged() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
