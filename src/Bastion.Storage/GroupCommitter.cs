using System.Threading.Channels;

namespace Bastion.Storage;

/// <summary>
/// One writer loop: takes the transitions of many workflows as they arrive and commits them together in one
/// transaction (one fsync per batch). Each caller awaits its own write. It also keeps the audit log's hash chain when
/// the store keeps one (<see cref="IAuditStore"/>): records are chained in commit order and written in the same
/// transaction — a call's record with the transition it committed (<see cref="PendingAudit.Ambient"/>), other records
/// on their own — so one fsync covers calls' state and their audit records.
/// </summary>
public sealed class GroupCommitter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IExecutionStore _store;
    private readonly IAuditStore? _auditStore;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly Task _loop;
    private long _batches;
    private long _writes;

    public GroupCommitter(IExecutionStore store)
    {
        _store = store;
        _auditStore = store as IAuditStore;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Batches committed so far, and writes in them (for benchmarks and diagnostics).</summary>
    public (long Batches, long Writes) Counters => (Interlocked.Read(ref _batches), Interlocked.Read(ref _writes));

    /// <summary>
    /// Commits one transition: its writes land together or not at all. The audit record of the call in progress
    /// (<see cref="PendingAudit.Ambient"/>), if it has not been written yet, is written with it.
    /// </summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition) => CommitAsync(transition, null);

    /// <summary>Commits one transition that also writes a schedule (<see cref="IScheduleStore"/>): all of it lands or none.</summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition, ScheduleWrite? schedule)
    {
        if (schedule is not null && _store is not IScheduleStore)
        {
            throw new NotSupportedException($"The {_store.Name} store keeps no schedules.");
        }

        var audit = _auditStore != null && PendingAudit.Ambient is { } ambient && ambient.TryRide() ? ambient : null;
        return Enqueue(new Pending(transition, audit, schedule));
    }

    /// <summary>Appends one audit record in the next transaction; fails if that transaction fails.</summary>
    public Task AppendAuditAsync(PendingAudit record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_auditStore is null)
        {
            throw new NotSupportedException($"The {_store.Name} store keeps no audit log.");
        }

        return Enqueue(new Pending(null, record, null));
    }

    private Task Enqueue(Pending pending)
    {
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Audit?.Landed(written: false);
            throw new ObjectDisposedException(nameof(GroupCommitter));
        }

        return pending.Done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var writes = new List<IReadOnlyList<ExecutionWrite>>(MaxBatch);
        var schedules = new List<ScheduleWrite?>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            writes.Clear();
            schedules.Clear();
            var audited = false;
            var scheduled = false;
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                audited |= pending.Audit != null;
                if (pending.Write is { } write)
                {
                    writes.Add(write);
                    schedules.Add(pending.Schedule);
                    scheduled |= pending.Schedule != null;
                }
            }

            IReadOnlyList<Exception?> results;
            try
            {
                Func<IReadOnlyList<Exception?>, IReadOnlyList<PendingAudit>>? audit = audited ? outcomes => Landing(batch, outcomes) : null;
                results = scheduled ? ((IScheduleStore)_store).CommitWithSchedules(writes, schedules, audit)
                    : audit is not null ? _auditStore!.CommitWithAudit(writes, audit)
                    : _store.Commit(writes);
            }
#pragma warning disable CA1031 // A failed transaction fails every caller in it; the loop must go on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var pending in batch)
                {
                    pending.Audit?.Landed(written: false);
                    pending.Done.TrySetException(e);
                }

                continue;
            }

            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _writes, writes.Count);
            var next = 0;
            foreach (var pending in batch)
            {
                var error = pending.Write is not null ? results[next++] : null;
                pending.Audit?.Landed(written: error is null);
                if (error is not null)
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

    /// <summary>
    /// The batch's records, in batch order, leaving out those whose transition was rejected (<paramref name="outcomes"/>,
    /// one per write): they were not written, so they take no place in the chain.
    /// </summary>
    private static List<PendingAudit> Landing(List<Pending> batch, IReadOnlyList<Exception?> outcomes)
    {
        var records = new List<PendingAudit>();
        var next = 0;
        foreach (var pending in batch)
        {
            var rejected = pending.Write is not null && outcomes[next++] is not null;
            if (pending.Audit is { } audit && !rejected)
            {
                records.Add(audit);
            }
        }

        return records;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>A transition to commit (with the schedule it writes and the audit record riding it, if any), or an audit record on its own.</summary>
    private sealed record Pending(IReadOnlyList<ExecutionWrite>? Write, PendingAudit? Audit, ScheduleWrite? Schedule)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
