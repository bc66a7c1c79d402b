using System.Threading.Channels;

namespace Bastion.Storage;

/// <summary>
/// One writer loop: takes the transitions of many workflows as they arrive and commits them together in one
/// transaction (one fsync per batch). Each caller awaits its own write. Audit records join the same transaction when
/// the store keeps them (<see cref="IAuditStore"/>), so one fsync covers calls' state and their audit records.
/// </summary>
public sealed class GroupCommitter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IExecutionStore _store;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly Task _loop;
    private long _batches;
    private long _writes;

    public GroupCommitter(IExecutionStore store)
    {
        _store = store;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Batches committed so far, and writes in them (for benchmarks and diagnostics).</summary>
    public (long Batches, long Writes) Counters => (Interlocked.Read(ref _batches), Interlocked.Read(ref _writes));

    /// <summary>Commits one transition: its writes land together or not at all.</summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition) => CommitAsync(transition, null);

    /// <summary>Commits one transition that also writes a schedule (<see cref="IScheduleStore"/>): all of it lands or none.</summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition, ScheduleWrite? schedule)
    {
        if (schedule is not null && _store is not IScheduleStore)
        {
            throw new NotSupportedException($"The {_store.Name} store keeps no schedules.");
        }

        var pending = new Pending(transition, null, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), schedule);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        return pending.Done.Task;
    }

    /// <summary>Appends audit records, in the order given, in the next transaction; fails if that transaction fails.</summary>
    public Task AppendAuditAsync(IReadOnlyList<StoredAuditRecord> records)
    {
        if (_store is not IAuditStore)
        {
            throw new NotSupportedException($"The {_store.Name} store keeps no audit log.");
        }

        var pending = new Pending(null, records, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);
        return pending.Done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var writes = new List<IReadOnlyList<ExecutionWrite>>(MaxBatch);
        var audit = new List<StoredAuditRecord>();
        var schedules = new List<ScheduleWrite?>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            writes.Clear();
            audit.Clear();
            schedules.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                if (pending.Write is { } write)
                {
                    writes.Add(write);
                    schedules.Add(pending.Schedule);
                }
                else
                {
                    audit.AddRange(pending.Audit!);
                }
            }

            IReadOnlyList<Exception?> results;
            try
            {
                results = schedules.Exists(s => s is not null) ? ((IScheduleStore)_store).CommitWithSchedules(writes, schedules, audit)
                    : audit.Count > 0 ? ((IAuditStore)_store).CommitWithAudit(writes, audit) : _store.Commit(writes);
            }
#pragma warning disable CA1031 // A failed transaction fails every caller in it; the loop must go on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(e);
                }

                continue;
            }

            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _writes, writes.Count);
            var next = 0;
            foreach (var pending in batch)
            {
                if (pending.Write is not null && results[next++] is { } error)
                {
                    pending.Done.TrySetException(error);
                }
                else
                {
                    pending.Done.TrySetResult();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>A transition to commit, or audit records to append.</summary>
    private sealed record Pending(IReadOnlyList<ExecutionWrite>? Write, IReadOnlyList<StoredAuditRecord>? Audit, TaskCompletionSource Done, ScheduleWrite? Schedule = null);
}
