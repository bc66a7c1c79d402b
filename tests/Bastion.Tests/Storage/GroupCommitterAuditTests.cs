using Bastion.Security.Audit;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage;

/// <summary>
/// A call's audit record rides the transition the call commits: one transaction, and only if the transition lands; a
/// batch is committed all or nothing, so a rejected transition fails alone and the rest of its batch is committed again.
/// </summary>
public sealed class GroupCommitterAuditTests : IAsyncLifetime
{
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();

    private DecodedAuditStore Decoded => new(_store.Audit, AuditRecordCodec.Plain);

    public async Task InitializeAsync() => await _store.MigrateAsync(1, CancellationToken.None);

    [Fact]
    public async Task TheAmbientRecord_IsWrittenInTheTransitionsTransaction()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireRangeAsync(0);
        var record = sink.Prepare(Record("start"))!;

        await CommitWithAmbientAsync(committer, record, NewRun(range, "wf-1", "run-1"));

        Assert.True(await record.CloseAsync());
        Assert.Equal((1, 1), committer.Counters); // one transaction held both
        Assert.Equal(["start"], await OperationsAsync());
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(Decoded)).Tampering);
    }

    /// <summary>A call's record riding a transition goes to the chain of the transition's shard; a record on its own to the process's node chain.</summary>
    [Fact]
    public async Task RecordsGoToTheChainOfTheShardTheyRide_OrOfTheNode()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain, AuditChains.Node("n1"));
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireRangeAsync(0);
        await CommitWithAmbientAsync(committer, sink.Prepare(Record("start"))!, NewRun(range, "wf-1", "run-1"));
        await sink.WriteAsync(Record("read"));

        var records = await Security.AuditReads.AllAsync(Decoded);
        Assert.Equal([("shard/0", 1L, "start"), ("node/n1", 1L, "read")], records.Select(r => (r.Chain, r.Sequence, AuditJson.Parse(r.Data).Record.Operation)));
        Assert.Equal(("shard/0", 1L), (AuditJson.Parse(records[0].Data).Chain, AuditJson.Parse(records[0].Data).Sequence)); // the record names its chain
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(Decoded)).Tampering);
    }

    [Fact]
    public async Task ARejectedTransition_LeavesItsRecordUnwritten_AndTheChainWhole()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireRangeAsync(0);
        await CommitWithAmbientAsync(committer, sink.Prepare(Record("first"))!, NewRun(range, "wf-1", "run-1"));

        // A second create of the same run is rejected; its record must take no place in the chain.
        var rejected = sink.Prepare(Record("rejected"))!;
        await Assert.ThrowsAsync<ConditionFailedException>(() => CommitWithAmbientAsync(committer, rejected, NewRun(range, "wf-1", "run-1")));
        await sink.WriteAsync(Record("after"));

        Assert.False(await rejected.CloseAsync()); // the caller writes it itself, with the call's real outcome
        await sink.WriteAsync(Record("rejected-outcome"));
        Assert.Equal(["first", "after", "rejected-outcome"], await OperationsAsync());
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(Decoded)).Tampering);
    }

    [Fact]
    public async Task ARecordRidesOneTransitionOnly_AndNoneAfterItIsClosed()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireRangeAsync(0);
        var record = sink.Prepare(Record("call"))!;
        await CommitWithAmbientAsync(committer, record, NewRun(range, "wf-1", "run-1"));
        await CommitWithAmbientAsync(committer, record, NewRun(range, "wf-2", "run-2")); // same call, second transition

        var closed = sink.Prepare(Record("closed"))!;
        Assert.False(await closed.CloseAsync());
        await CommitWithAmbientAsync(committer, closed, NewRun(range, "wf-3", "run-3")); // e.g. work the call left behind

        Assert.Equal(["call"], await OperationsAsync());
    }

    [Fact]
    public async Task WaitersRecords_RideTheTransitionThatWakesThem_UnlessWrittenAlready()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireRangeAsync(0);
        var waiting = sink.Prepare(Record("waiting"))!;
        var gaveUp = sink.Prepare(Record("gave-up"))!;
        Assert.False(await gaveUp.CloseAsync()); // its call ended and wrote its record itself
        await sink.WriteAsync(Record("gave-up"));

        PendingAudit.Ambient = sink.Prepare(Record("closing"));
        try
        {
            await committer.CommitAsync([NewRun(range, "wf-1", "run-1")], null, [waiting, gaveUp]);
        }
        finally
        {
            PendingAudit.Ambient = null;
        }

        Assert.True(await waiting.CloseAsync());
        Assert.Equal(["gave-up", "closing", "waiting"], await OperationsAsync());
        Assert.Equal((2, 1), committer.Counters);
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(Decoded)).Tampering);
    }

    [Fact]
    public async Task ARejectedTransition_FailsAlone_TheRestOfItsBatchLands_WithTheirRecords()
    {
        var gated = new FirstCommitWaits(_store);
        await using var committer = new GroupCommitter(gated, AuditRecordCodec.Plain);
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireRangeAsync(0);

        // The first commit waits in the provider while two more transitions queue up: they go in one batch.
        var first = committer.CommitAsync([NewRun(range, "wf-1", "run-1")]);
        await gated.Entered.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var stale = CommitWithAmbientAsync(committer, sink.Prepare(Record("stale"))!, NewRun(range, "wf-1", "run-1")); // exists: rejected
        var fresh = CommitWithAmbientAsync(committer, sink.Prepare(Record("fresh"))!, NewRun(range, "wf-2", "run-2"));
        gated.Release.SetResult();

        await first;
        await Assert.ThrowsAsync<ConditionFailedException>(() => stale);
        await fresh;
        Assert.Equal(3, gated.Calls); // the first batch, the rolled-back batch of two, the survivor again
        Assert.NotNull(await _store.GetExecutionAsync("ns", "run-2", CancellationToken.None));
        Assert.Equal(["fresh"], await OperationsAsync());
    }

    /// <summary>
    /// A record sent with its call to another node that gave no answer is in doubt: that node may have written it, so it
    /// rides nothing more, and the sink looks for it in the shards' chains by its log id before it is written again.
    /// </summary>
    [Fact]
    public async Task ARecordInDoubt_RidesNothing_AndIsFoundWhereTheOtherNodeWroteIt()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain, AuditChains.Node("entry"));
        var entry = new DurableAuditSink(committer, "acme");
        var owner = new DurableAuditSink(committer, "acme"); // the other node's sink, on the same database
        var range = await _store.AcquireRangeAsync(0);
        var record = Record("forwarded");
        var sent = entry.Prepare(record)!;
        Assert.True(sent.TryRideElsewhere());
        await CommitWithAmbientAsync(committer, owner.Prepare(record)!, NewRun(range, "wf-1", "run-1")); // written there; the answer is lost
        sent.RodeElsewhere(null);

        Assert.True(sent.InDoubt);
        await CommitWithAmbientAsync(committer, sent, NewRun(range, "wf-2", "run-2")); // the call, tried again, commits here
        Assert.False(await sent.CloseAsync());
        Assert.True(await entry.WrittenElsewhereAsync(sent, CancellationToken.None));
        Assert.Equal(["forwarded"], await OperationsAsync());

        // Another call's record of the same account and instant, which the other node never wrote: not found.
        var lost = entry.Prepare(record with { LogId = Guid.NewGuid().ToString() })!;
        Assert.True(lost.TryRideElsewhere());
        lost.RodeElsewhere(null);
        Assert.False(await lost.CloseAsync());
        Assert.False(await entry.WrittenElsewhereAsync(lost, CancellationToken.None));

        // A record whose node answered is not in doubt.
        var answered = entry.Prepare(Record("answered"))!;
        Assert.True(answered.TryRideElsewhere());
        answered.RodeElsewhere(false);
        Assert.False(answered.InDoubt);
    }

    private static async Task CommitWithAmbientAsync(GroupCommitter committer, PendingAudit record, ExecutionWrite write)
    {
        PendingAudit.Ambient = record;
        try
        {
            await committer.CommitAsync([write]);
        }
        finally
        {
            PendingAudit.Ambient = null;
        }
    }

    private async Task<List<string>> OperationsAsync() =>
        [.. (await Security.AuditReads.AllAsync(Decoded)).Select(r => AuditJson.Parse(r.Data).Record.Operation)];

    private static AuditRecord Record(string operation) =>
        new() { LogId = Guid.NewGuid().ToString(), EmitTime = DateTime.UtcNow, Operation = operation, PrincipalType = "User" };

    internal static ExecutionWrite NewRun(long range, string workflowId, string runId) => new()
    {
        ShardId = 0,
        RangeId = range,
        NamespaceId = "ns",
        WorkflowId = workflowId,
        RunId = runId,
        ExpectedVersion = 0,
        NewVersion = 1,
        Status = 1,
        State = [1],
        Events = new HistoryBatch(1, 2, [9]),
    };

    public Task DisposeAsync() => _store.DisposeAsync().AsTask();

    /// <summary>The SQLite provider, whose first commit waits for the test: the transitions queued meanwhile share a batch.</summary>
    private sealed class FirstCommitWaits(SqliteStorageProvider inner) : IStorageProvider
    {
        private int _calls;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public string Name => inner.Name;

        public IShardStore Shards => inner.Shards;

        public IMembershipStore Membership => inner.Membership;

        public IExecutionStore Executions => inner.Executions;

        public ITaskStore Tasks => inner.Tasks;

        public IVisibilityStore Visibility => inner.Visibility;

        public IMetadataStore Metadata => inner.Metadata;

        public IScheduleStore Schedules => inner.Schedules;

        public IBatchStore Batches => inner.Batches;

        public IAuditStore Audit => inner.Audit;

        public IRecordStore Records => inner.Records;

        public ISignInStore SignIn => inner.SignIn;

        public IUiSessionStore Sessions => inner.Sessions;

        public INexusEndpointStore NexusEndpoints => inner.NexusEndpoints;

        public IWorkerDeploymentStore WorkerDeployments => inner.WorkerDeployments;

        public ITaskQueueConfigStore TaskQueueConfigs => inner.TaskQueueConfigs;

        public INamespacePurgeStore NamespacePurges => inner.NamespacePurges;

        public Task<ClusterMetadata> MigrateAsync(int shardCountForNewCluster, CancellationToken cancellationToken) =>
            inner.MigrateAsync(shardCountForNewCluster, cancellationToken);

        public async Task<CommitResult> CommitAsync(CommitBatch batch, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                Entered.SetResult();
                await Release.Task.WaitAsync(TimeSpan.FromSeconds(15), cancellationToken);
            }

            return await inner.CommitAsync(batch, cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
