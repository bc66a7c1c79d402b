using Bastion.Security.Audit;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage;

/// <summary>
/// A provider commits a batch all or nothing: the group committer fails a rejected transition and commits the rest of
/// its batch again, with their audit records and without the rejected one's.
/// </summary>
public sealed class GroupCommitterRetryTests : IAsyncLifetime
{
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();

    public Task InitializeAsync() => _store.MigrateAsync(1, CancellationToken.None);

    public Task DisposeAsync() => _store.DisposeAsync().AsTask();

    [Fact]
    public async Task ARejectedTransition_FailsAlone_TheRestOfItsBatchLands_WithTheirRecords()
    {
        var gated = new FirstCommitWaits(_store);
        await using var committer = new GroupCommitter(gated, AuditRecordCodec.Plain);
        var sink = new DurableAuditSink(committer, "acme");
        var range = await _store.AcquireShardAsync(0, CancellationToken.None);

        // The first commit waits in the provider while two more transitions queue up: they go in one batch.
        var first = committer.CommitAsync([NewRun(range, "wf-1", "run-1")]);
        await gated.Entered.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var stale = CommitRidingAsync(committer, sink.Prepare(Record("stale"))!, NewRun(range, "wf-1", "run-1")); // exists: rejected
        var fresh = CommitRidingAsync(committer, sink.Prepare(Record("fresh"))!, NewRun(range, "wf-2", "run-2"));
        gated.Release.SetResult();

        await first;
        await Assert.ThrowsAsync<ConditionFailedException>(() => stale);
        await fresh;
        Assert.Equal(3, gated.Calls); // the first batch, the rolled-back batch of two, the survivor again
        Assert.NotNull(await _store.GetExecutionAsync("ns", "run-2", CancellationToken.None));
        var decoded = new DecodedAuditStore(_store.Audit, AuditRecordCodec.Plain);
        Assert.Equal(["fresh"], (await decoded.ReadAuditAsync(new AuditQuery(0, 10), CancellationToken.None)).Select(r => AuditJson.Parse(r.Data).Record.Operation));
    }

    private static async Task CommitRidingAsync(GroupCommitter committer, PendingAudit record, ExecutionWrite write)
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

    private static AuditRecord Record(string operation) =>
        new() { LogId = Guid.NewGuid().ToString(), EmitTime = DateTime.UtcNow, Operation = operation, PrincipalType = "User" };

    private static ExecutionWrite NewRun(long range, string workflowId, string runId) => new()
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
    };

    /// <summary>The SQLite provider, whose first commit waits for the test: the transitions queued meanwhile share a batch.</summary>
    private sealed class FirstCommitWaits(SqliteStorageProvider inner) : IStorageProvider
    {
        private int _calls;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public string Name => inner.Name;

        public IShardStore Shards => inner.Shards;

        public IExecutionStore Executions => inner.Executions;

        public ITaskStore Tasks => inner.Tasks;

        public IVisibilityStore Visibility => inner.Visibility;

        public IMetadataStore Metadata => inner.Metadata;

        public IScheduleStore Schedules => inner.Schedules;

        public IBatchStore Batches => inner.Batches;

        public IAuditStore Audit => inner.Audit;

        public IRecordStore Records => inner.Records;

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
