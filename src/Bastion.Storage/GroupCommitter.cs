using System.Diagnostics;
using System.Threading.Channels;
using Bastion.Storage.Telemetry;

namespace Bastion.Storage;

/// <summary>
/// One writer loop: takes the transitions of many workflows as they arrive and commits them together in one
/// transaction (one fsync per batch). Each caller awaits its own write. Audit records ride along: a call's record with
/// the transition it committed (<see cref="PendingAudit.Ambient"/>), other records on their own — so one fsync
/// covers calls' state and their audit records.
/// </summary>
/// <remarks>
/// A provider commits a batch all or nothing (<see cref="IStorageProvider.CommitAsync"/>). A rejected transition is
/// rare — the engine holds a run's lock until its commit ends — so the batch is committed again without the rejected
/// ones instead of paying a savepoint per transition.
/// </remarks>
public sealed class GroupCommitter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IStorageProvider _provider;
    private readonly AuditRecordCodec _auditCodec;
    private readonly string _nodeChain;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly Task _loop;
    private static readonly PendingAudit[] s_none = [];
    private long _batches;
    private long _writes;

    /// <param name="provider">Where the batches go.</param>
    /// <param name="auditCodec">Seals and encodes the audit records of each batch.</param>
    /// <param name="nodeChain">
    /// The audit chain of records that ride no shard's transition (<see cref="AuditChains"/>; default: this machine's).
    /// A record riding a transition goes to the chain of the transition's shard.
    /// </param>
    public GroupCommitter(IStorageProvider provider, AuditRecordCodec auditCodec, string? nodeChain = null)
    {
        _provider = provider;
        _auditCodec = auditCodec;
        _nodeChain = nodeChain ?? AuditChains.ThisMachine;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>The audit records committed so far, decoded (to look for a record another node may have written).</summary>
    public IAuditStore Audit => new DecodedAuditStore(_provider.Audit, _auditCodec);

    /// <summary>Batches committed so far, and writes in them (for benchmarks and diagnostics).</summary>
    public (long Batches, long Writes) Counters => (Interlocked.Read(ref _batches), Interlocked.Read(ref _writes));

    /// <summary>
    /// Commits one transition: its writes land together or not at all. The audit record of the call in progress
    /// (<see cref="PendingAudit.Ambient"/>), if it has not been written yet, is written with it.
    /// </summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition) => CommitAsync(new Transition(transition));

    /// <summary>Commits one transition that also writes a schedule: all of it lands or none.</summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition, ScheduleWrite? schedule) =>
        CommitAsync(new Transition(transition) { Schedule = schedule });

    /// <summary>
    /// Commits one transition that also ends other calls' waits (a result long poll on the run it closes): their
    /// records (<paramref name="passengers"/>), those not yet written or riding elsewhere, ride it with the ambient
    /// call's, so a waiter answers after this one commit instead of a second of its own.
    /// </summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition, ScheduleWrite? schedule, IReadOnlyList<PendingAudit> passengers)
    {
        ArgumentNullException.ThrowIfNull(passengers);
        var riders = Riders(PendingAudit.Ambient);
        foreach (var passenger in passengers)
        {
            if (passenger.TryRide())
            {
                (riders ??= []).Add(passenger);
            }
        }

        return Enqueue(new Pending(new Transition(transition) { Schedule = schedule }, (IReadOnlyList<PendingAudit>?)riders ?? s_none, []));
    }

    /// <summary>
    /// Commits one transition, with the ambient call's audit record when it has not been written yet, and
    /// <paramref name="records"/> (the account events it is), which land with it or not at all.
    /// </summary>
    public Task CommitAsync(Transition transition, IReadOnlyList<PendingAudit>? records = null)
    {
        ArgumentNullException.ThrowIfNull(transition);
        var committed = Enqueue(new Pending(transition, (IReadOnlyList<PendingAudit>?)Riders(PendingAudit.Ambient) ?? s_none, records ?? []));
        return transition.WritesSettings && SettingsCommitted is { } told ? ThenAsync(committed, told) : committed;
    }

    /// <summary>
    /// Awaited after a transition that writes settings (<see cref="Transition.WritesSettings"/>) has committed, before
    /// its caller goes on: in a cluster, the other nodes read them again, so a client that changed them finds the change
    /// on every node at once.
    /// </summary>
    public Func<Task>? SettingsCommitted { get; set; }

    private static async Task ThenAsync(Task committed, Func<Task> then)
    {
        await committed.ConfigureAwait(false);
        await then().ConfigureAwait(false);
    }

    private static List<PendingAudit>? Riders(PendingAudit? ambient) => ambient is not null && ambient.TryRide() ? [ambient] : null;

    /// <summary>Appends one audit record in the next transaction; fails if that transaction fails.</summary>
    public Task AppendAuditAsync(PendingAudit record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Enqueue(new Pending(null, [record], []));
    }

    private Task Enqueue(Pending pending)
    {
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Land(written: false);
            throw new ObjectDisposedException(nameof(GroupCommitter));
        }

        return pending.Done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            for (var left = batch; left is not null;)
            {
                left = await CommitAsync(left).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Commits <paramref name="batch"/>; returns what is left to commit again when transitions were rejected, else null.</summary>
    private async Task<List<Pending>?> CommitAsync(List<Pending> batch)
    {
        var transitions = new List<Transition>(batch.Count);
        var audit = new List<AuditAppend>();
        foreach (var pending in batch)
        {
            if (pending.Write is { } write)
            {
                transitions.Add(write);
            }

            if (pending.Riders.Count == 0 && pending.Records.Count == 0)
            {
                continue;
            }

            var chain = pending.Write is { Writes: [var first, ..] } ? AuditChains.Shard(first.ShardId) : _nodeChain;
            var records = audit.Find(a => a.Chain == chain)?.Records as List<PendingAudit>;
            if (records is null)
            {
                records = [];
                audit.Add(new AuditAppend(chain, records));
            }

            records.AddRange(pending.Riders);
            records.AddRange(pending.Records);
        }

        CommitResult result;
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (audit.Count > 0)
            {
                _auditCodec.Prepare();
            }

            result = await _provider.CommitAsync(new CommitBatch(transitions, audit, _auditCodec), CancellationToken.None).ConfigureAwait(false);
            RecordCommit(started, batch.Count, failed: false);
        }
#pragma warning disable CA1031 // A failed transaction fails every caller in it; the loop must go on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            RecordCommit(started, batch.Count, failed: true);
            foreach (var pending in batch)
            {
                pending.Land(written: false);
                pending.Done.TrySetException(e);
            }

            return null;
        }

        if (!result.Committed)
        {
            // Nothing was written: fail the rejected transitions (their riding records are free again) and go again.
            var survivors = new List<Pending>(batch.Count);
            var next = 0;
            foreach (var pending in batch)
            {
                if (pending.Write is not null && result.Rejected[next++] is { } error)
                {
                    pending.Land(written: false);
                    pending.Done.TrySetException(error);
                }
                else
                {
                    survivors.Add(pending);
                }
            }

            return survivors.Count > 0 ? survivors : null;
        }

        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _writes, transitions.Count);
        foreach (var pending in batch)
        {
            pending.Land(written: true);
            pending.Done.TrySetResult();
        }

        return null;
    }

    private static void RecordCommit(long started, int writes, bool failed)
    {
        var operation = new KeyValuePair<string, object?>("operation", "GroupCommit");
        ServerMetrics.PersistenceRequests.Add(1, operation);
        ServerMetrics.PersistenceLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, operation);
        ServerMetrics.GroupCommitBatchSize.Record(writes);
        if (failed)
        {
            ServerMetrics.PersistenceErrors.Add(1, operation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>
    /// A transition to commit (with the records of calls riding it, if any, and the records it writes), or an audit
    /// record on its own (its one rider).
    /// </summary>
    private sealed record Pending(Transition? Write, IReadOnlyList<PendingAudit> Riders, IReadOnlyList<PendingAudit> Records)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The riders' commit ended: written, or free again.</summary>
        public void Land(bool written)
        {
            foreach (var rider in Riders)
            {
                rider.Landed(written);
            }
        }
    }
}
