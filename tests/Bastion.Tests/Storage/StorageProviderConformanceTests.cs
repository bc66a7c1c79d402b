using System.Security.Cryptography;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Bastion.Visibility;
using Bastion.Visibility.Query;

namespace Bastion.Tests.Storage;

/// <summary>What every storage provider must do; subclassed once per backend.</summary>
public abstract class StorageProviderConformanceTests : IAsyncLifetime
{
    private IStorageProvider? _store;

    protected IStorageProvider Store => _store ?? throw new InvalidOperationException("Not initialized.");

    protected abstract Task<IStorageProvider> CreateStoreAsync();

    /// <summary>Writes a schema version newer than this binary knows into the store's database; false when the store cannot be reached from outside (in memory).</summary>
    protected abstract Task<bool> MarkSchemaNewerAsync();

    /// <summary>
    /// True once a call on another connection is observed waiting for a lock (PostgreSQL: <c>pg_locks</c>). A
    /// provider whose writer is one in-process lock cannot be observed and answers true: its acquire cannot overtake.
    /// </summary>
    protected virtual Task<bool> SomeoneWaitsForALockAsync() => Task.FromResult(true);

    /// <summary>
    /// Makes the next commit wait inside its transaction, after its fence, until <paramref name="gate"/> is released;
    /// returns the audit records to commit with it. By default the gate itself rides as an audit record (a provider
    /// that seals records inside the transaction, after the fence).
    /// </summary>
    private protected virtual IReadOnlyList<PendingAudit> HoldNextCommitInFlight(GateAudit gate) => [gate];

    /// <summary>A second provider on the same database (a CLI beside the server); null when the store cannot be shared (in memory).</summary>
    protected abstract Task<IStorageProvider?> OpenSecondWriterAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.MigrateAsync(2, CancellationToken.None);
    }

    [Fact]
    public async Task Migrate_ADatabaseFromANewerBastion_IsRefused()
    {
        if (!await MarkSchemaNewerAsync())
        {
            return; // in memory: nothing outside the store can write its schema
        }

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.MigrateAsync(2, CancellationToken.None));
        Assert.Contains("newer than this Bastion knows", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// An acquire issued while a commit of the old owner is in flight (held inside its transaction, after its fence,
    /// by an audit record that will not seal) waits for that commit: when the acquire returns, the commit is in the
    /// store; a commit with the old range after it is refused.
    /// </summary>
    [Fact]
    public async Task Acquire_DuringACommitInFlight_WaitsForIt_AndLaterCommitsWithTheOldRangeAreRefused()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        using var gate = new GateAudit();
        var riding = HoldNextCommitInFlight(gate);
        var commit = Task.Run(() => Store.CommitAsync(new CommitBatch([new Transition([NewRun(range, "wf-race", "run-race")])], Chain, riding, AuditRecordCodec.Plain), CancellationToken.None));
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)), "the commit should be held in flight");

        var acquire = Task.Run(() => Store.Shards.AcquireRangeAsync(0));
        Assert.True(await Eventually.HoldsAsync(async () => acquire.IsCompleted || await SomeoneWaitsForALockAsync()));
        var acquiredDuringTheCommit = acquire.IsCompleted;
        gate.Release.Set();

        Assert.False(acquiredDuringTheCommit, "the acquire should wait for the commit in flight");
        Assert.True((await commit).Committed);
        Assert.Equal(range + 1, await acquire);
        Assert.NotNull(await Store.Executions.GetExecutionAsync("ns", "run-race", CancellationToken.None));
        var late = await CommitAsync(Update(range, "wf-race", "run-race", expected: 1));
        Assert.IsType<ShardOwnershipLostException>(Assert.Single(late));
        Assert.Equal(1, (await Store.Executions.GetExecutionAsync("ns", "run-race", CancellationToken.None))!.Version);
    }

    /// <summary>
    /// A lease is held, renewed and released under its range id: an acquire by another owner reports the lease it
    /// replaced; the old owner's renewal is then refused and changes nothing, and so is its release.
    /// </summary>
    [Fact]
    public async Task ShardLease_AcquireRenewRelease_FencedByTheRangeId()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        var first = await Store.Shards.AcquireShardAsync(1, "node-a", t0.AddSeconds(30), CancellationToken.None);
        Assert.Null(first.Replaced);

        var renewed = await Store.Shards.RenewShardAsync(first, t0.AddSeconds(60), CancellationToken.None);
        Assert.Equal((first.RangeId, t0.AddSeconds(60)), (renewed.RangeId, renewed.LeaseUntil));
        Assert.Equal(new ShardRecord(1, first.RangeId, "node-a", t0.AddSeconds(60)), (await Store.Shards.ReadShardsAsync(CancellationToken.None)).Single(s => s.ShardId == 1));

        var second = await Store.Shards.AcquireShardAsync(1, "node-b", t0.AddSeconds(90), CancellationToken.None);
        Assert.Equal(first.RangeId + 1, second.RangeId);
        Assert.Equal(new ShardRecord(1, first.RangeId, "node-a", t0.AddSeconds(60)), second.Replaced);

        var stale = await Assert.ThrowsAsync<ShardOwnershipLostException>(() => Store.Shards.RenewShardAsync(renewed, t0.AddSeconds(120), CancellationToken.None));
        Assert.Equal(1, stale.ShardId);
        await Store.Shards.ReleaseShardAsync(renewed, CancellationToken.None); // the old owner's release: not its lease any more
        Assert.Equal(new ShardRecord(1, second.RangeId, "node-b", t0.AddSeconds(90)), (await Store.Shards.ReadShardsAsync(CancellationToken.None)).Single(s => s.ShardId == 1));

        await Store.Shards.ReleaseShardAsync(second, CancellationToken.None);
        Assert.Equal(new ShardRecord(1, second.RangeId, null, new DateTime(0, DateTimeKind.Utc)), (await Store.Shards.ReadShardsAsync(CancellationToken.None)).Single(s => s.ShardId == 1));
        Assert.Equal(second.RangeId + 1, (await Store.Shards.AcquireShardAsync(1, "node-c", t0.AddSeconds(150), CancellationToken.None)).RangeId);
    }

    /// <summary>
    /// A node's heartbeat inserts its row and then replaces it (a restart may change its address); a node that leaves
    /// is gone; rows stay until removed, so a reader tells live from departed by the lease.
    /// </summary>
    [Fact]
    public async Task Membership_HeartbeatsUpsert_LeaveRemoves_LeasesTellLiveFromGone()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        var a = new ClusterNode("node-a", "10.0.0.1:7243", t0);
        var b = new ClusterNode("node-b", "10.0.0.2:7243", t0.AddSeconds(1), 3, 4); // the versions of its messages round-trip too
        // Each heartbeat returns the database's clock as it wrote (none for a database without a clock of its own), kept in the row.
        var atB = await Store.Membership.HeartbeatAsync(b, t0.AddSeconds(10), CancellationToken.None);
        var atA = await Store.Membership.HeartbeatAsync(a, t0.AddSeconds(10), CancellationToken.None);
        Assert.Equal(
            [new ClusterNodeRecord(a, t0.AddSeconds(10)) { HeartbeatAt = atA }, new ClusterNodeRecord(b, t0.AddSeconds(10)) { HeartbeatAt = atB }],
            await Store.Membership.ReadNodesAsync(CancellationToken.None));
        if (atA is { } clock)
        {
            Assert.InRange(clock, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1)); // a real clock, in .NET ticks
        }

        var restarted = new ClusterNode("node-a", "10.0.0.9:7243", t0.AddSeconds(5), 4, 5); // upgraded
        var atRestart = await Store.Membership.HeartbeatAsync(restarted, t0.AddSeconds(15), CancellationToken.None);
        var rows = await Store.Membership.ReadNodesAsync(CancellationToken.None);
        Assert.Equal([new ClusterNodeRecord(restarted, t0.AddSeconds(15)) { HeartbeatAt = atRestart }, new ClusterNodeRecord(b, t0.AddSeconds(10)) { HeartbeatAt = atB }], rows);
        Assert.Equal(["node-a"], rows.Where(r => r.IsLiveAt(t0.AddSeconds(12))).Select(r => r.Node.NodeId));

        await Store.Membership.LeaveAsync("node-a", CancellationToken.None);
        await Store.Membership.LeaveAsync("node-never", CancellationToken.None);
        Assert.Equal([new ClusterNodeRecord(b, t0.AddSeconds(10)) { HeartbeatAt = atB }], await Store.Membership.ReadNodesAsync(CancellationToken.None));
    }

    /// <summary>
    /// Sealed values are upserted by name, listed by prefix in name order, deleted by name; they are re-encryption's
    /// records too (scanned under the sealed key-ring entry with their names as keys, replaced only when unchanged).
    /// </summary>
    [Fact]
    public async Task SealedValues_UpsertListByPrefixDelete_AndAreScannedForReEncryption()
    {
        await Store.SignIn.PutSealedAsync("dp/key-b", "sealed-b", CancellationToken.None);
        await Store.SignIn.PutSealedAsync("dp/key-a", "sealed-a", CancellationToken.None);
        await Store.SignIn.PutSealedAsync("oidc/acme", "sealed-secret", CancellationToken.None);
        await Store.SignIn.PutSealedAsync("dp/key-a", "sealed-a2", CancellationToken.None);
        Assert.Equal(
            [new SealedValue("dp/key-a", "sealed-a2"), new SealedValue("dp/key-b", "sealed-b")],
            await Store.SignIn.ListSealedAsync("dp/", CancellationToken.None));
        Assert.Empty(await Store.SignIn.ListSealedAsync("dp/key-c", CancellationToken.None));

        var scanned = await Store.Records.ScanRecordsAsync("sealed_values", RecordIdentities.SealedNamespaceId, 0, 10, CancellationToken.None);
        Assert.Equal(["dp/key-a", "dp/key-b", "oidc/acme"], scanned.Select(r => r.Key).Order(StringComparer.Ordinal));
        var secret = scanned.Single(r => r.Key == "oidc/acme");
        Assert.True(await Store.Records.ReplaceRecordAsync(secret, "resealed"u8.ToArray(), CancellationToken.None));
        Assert.False(await Store.Records.ReplaceRecordAsync(secret, "again"u8.ToArray(), CancellationToken.None));
        Assert.Equal([new SealedValue("oidc/acme", "resealed")], await Store.SignIn.ListSealedAsync("oidc/", CancellationToken.None));

        await Store.SignIn.DeleteSealedAsync("oidc/acme", CancellationToken.None);
        await Store.SignIn.DeleteSealedAsync("oidc/none", CancellationToken.None);
        Assert.Empty(await Store.SignIn.ListSealedAsync("oidc/", CancellationToken.None));
    }

    /// <summary>
    /// An id is used once: the first use counts, a second while the first stands is a replay, and after the first
    /// expired the id counts again; expired uses of other ids are dropped on the way.
    /// </summary>
    [Fact]
    public async Task UseOnce_FirstUseCounts_ARepeatWhileItStandsIsRefused_AndExpiryFreesIt()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.True(await Store.SignIn.UseOnceAsync("_assertion-1", t0.AddMinutes(5), t0, CancellationToken.None));
        Assert.True(await Store.SignIn.UseOnceAsync("_assertion-2", t0.AddMinutes(1), t0, CancellationToken.None));
        Assert.False(await Store.SignIn.UseOnceAsync("_assertion-2", t0.AddMinutes(9), t0.AddSeconds(30), CancellationToken.None));
        Assert.False(await Store.SignIn.UseOnceAsync("_assertion-1", t0.AddMinutes(5), t0.AddSeconds(59), CancellationToken.None));
        Assert.True(await Store.SignIn.UseOnceAsync("_assertion-2", t0.AddMinutes(9), t0.AddMinutes(1), CancellationToken.None)); // its use expired
        Assert.False(await Store.SignIn.UseOnceAsync("_assertion-2", t0.AddMinutes(9), t0.AddMinutes(2), CancellationToken.None)); // the renewed use stands
        Assert.True(await Store.SignIn.UseOnceAsync("_assertion-1", t0.AddMinutes(20), t0.AddMinutes(5), CancellationToken.None));
    }

    /// <summary>
    /// UI sessions are added, read by id hash, touched forward only, listed, and deleted once: the delete that removed the
    /// row says so, a second one does not (so one node alone reports a session's end).
    /// </summary>
    [Fact]
    public async Task UiSessions_AddReadTouchListDelete_AndOnlyOneDeleteTakesEffect()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        var a = new UiSessionRecord("hash-a", "{\"who\":\"a\"}", t0, t0);
        await Store.Sessions.AddSessionAsync(a, CancellationToken.None);
        await Store.Sessions.AddSessionAsync(new UiSessionRecord("hash-b", "{}", t0, t0), CancellationToken.None);
        Assert.Equal(a, await Store.Sessions.ReadSessionAsync("hash-a", CancellationToken.None));
        Assert.Null(await Store.Sessions.ReadSessionAsync("hash-none", CancellationToken.None));

        await Store.Sessions.TouchSessionAsync("hash-a", t0.AddMinutes(5), CancellationToken.None);
        await Store.Sessions.TouchSessionAsync("hash-a", t0.AddMinutes(2), CancellationToken.None); // never back
        await Store.Sessions.TouchSessionAsync("hash-none", t0.AddMinutes(2), CancellationToken.None);
        Assert.Equal(a with { LastSeen = t0.AddMinutes(5) }, await Store.Sessions.ReadSessionAsync("hash-a", CancellationToken.None));
        Assert.Equal(["hash-a", "hash-b"], (await Store.Sessions.ListSessionsAsync(CancellationToken.None)).Select(s => s.IdHash));

        Assert.True(await Store.Sessions.DeleteSessionAsync("hash-a", CancellationToken.None));
        Assert.False(await Store.Sessions.DeleteSessionAsync("hash-a", CancellationToken.None));
        Assert.Equal(["hash-b"], (await Store.Sessions.ListSessionsAsync(CancellationToken.None)).Select(s => s.IdHash));
    }

    /// <summary>Two providers on one database (two nodes): an id one of them used is a replay for the other.</summary>
    [Fact]
    public async Task UseOnce_IsSharedByEveryProviderOnTheDatabase()
    {
        await using var second = await OpenSecondWriterAsync();
        if (second is null)
        {
            return; // in memory: nothing else shares the store
        }

        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.True(await Store.SignIn.UseOnceAsync("_shared", t0.AddMinutes(5), t0, CancellationToken.None));
        Assert.False(await second.SignIn.UseOnceAsync("_shared", t0.AddMinutes(5), t0.AddMinutes(1), CancellationToken.None));
        await second.SignIn.PutSealedAsync("dp/k", "v", CancellationToken.None);
        Assert.Equal([new SealedValue("dp/k", "v")], await Store.SignIn.ListSealedAsync("dp/", CancellationToken.None));
    }

    /// <summary>Two writers on one database (a server and a CLI) append to one chain: each seals after the other's records.</summary>
    [Fact]
    public async Task Audit_TwoWritersOnOneDatabase_ExtendOneChain()
    {
        await using var second = await OpenSecondWriterAsync();
        if (second is null)
        {
            return; // in memory: one store, one writer
        }

        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        await Store.CommitAsync(new CommitBatch([], Chain, [new FixedAudit(t0)], AuditRecordCodec.Plain), CancellationToken.None);
        await second.CommitAsync(new CommitBatch([], Chain, [new FixedAudit(t0), new FixedAudit(t0)], AuditRecordCodec.Plain), CancellationToken.None);
        await Store.CommitAsync(new CommitBatch([], Chain, [new FixedAudit(t0)], AuditRecordCodec.Plain), CancellationToken.None);

        var records = (await Store.Audit.ReadAuditAsync(new AuditQuery(Chain, 0, 10), CancellationToken.None)).Select(AuditRecordCodec.Plain.Decode).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], records.Select(r => r.Sequence));
        for (var i = 1; i < records.Count; i++)
        {
            Assert.Equal(records[i - 1].Hash, FixedAudit.PreviousHash(records[i].Data));
        }

        Assert.Equal(4, (await HeadOf(second, Chain)).Head.Sequence);
    }

    [Fact]
    public async Task ListVisibility_PagesThroughTiesByRunId_AndStaysInItsNamespace()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        var start = new DateTime(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc);
        string[] runs = ["run-v1", "run-v2", "run-v3", "run-v4", "run-v5"];
        await CommitAsync([.. runs.Select(r => WithVisibility(NewRun(range, "wf-" + r, r), start))]);
        await CommitAsync(WithVisibility(NewRun(range, "wf-other", "run-other", ns: "other"), start));
        await CommitAsync(WithVisibility(Update(range, "wf-run-v2", "run-v2", expected: 1, status: 2), start, status: 2));
        var query = BindList("WorkflowType = 'Order'");

        var seen = new List<string>();
        VisibilityCursor? after = null;
        for (var page = 0; page < 5; page++)
        {
            var rows = await Store.Visibility.ListVisibilityAsync(new VisibilityPageRequest("ns", query, 2, after), CancellationToken.None);
            seen.AddRange(rows.Select(r => r.RunId));
            if (rows.Count < 2)
            {
                break;
            }

            after = new VisibilityCursor(rows[^1].OrderKey, rows[^1].RunId);
        }

        Assert.Equal(runs.Reverse(), seen); // start time descending, ties by run id descending, each once
        Assert.Equal([(null, 5L)], await Store.Visibility.CountVisibilityAsync("ns", BindCount("WorkflowType = 'Order'"), CancellationToken.None));
        Assert.Equal(
            [(1L, 4L), (2L, 1L)],
            await Store.Visibility.CountVisibilityAsync("ns", BindCount("WorkflowType = 'Order' GROUP BY ExecutionStatus"), CancellationToken.None));
        Assert.Equal(["run-v2"], (await Store.Visibility.ListVisibilityAsync(new VisibilityPageRequest("ns", BindList("ExecutionStatus = 'Completed'"), 10, null), CancellationToken.None)).Select(r => r.RunId));
    }

    /// <summary>
    /// A schedule lives on a shard: listed with its shard's schedules, written fenced by that shard (a stale range is
    /// refused and changes nothing), and a row from before shards is listed for the shard-0 owner until a write assigns it.
    /// </summary>
    [Fact]
    public async Task Schedules_BelongToAShard_AndTheirWritesAreFencedByIt()
    {
        var range1 = await Store.Shards.AcquireRangeAsync(1);
        Assert.Null(Assert.Single(await CommitAsync(new Transition([]) { Schedule = NewSchedule("s-1", shard: 1, range1) })));
        Assert.Equal(["s-1"], (await Store.Schedules.ListSchedulesOfShardAsync(1, withUnassigned: false, CancellationToken.None)).Select(s => s.ScheduleId));
        Assert.Empty(await Store.Schedules.ListSchedulesOfShardAsync(0, withUnassigned: true, CancellationToken.None));

        await Store.Shards.AcquireRangeAsync(1); // another owner took shard 1
        var stale = await CommitAsync(new Transition([]) { Schedule = NewSchedule("s-1", shard: 1, range1, expected: 1) });
        Assert.IsType<ShardOwnershipLostException>(Assert.Single(stale));
        Assert.Equal(1, (await Store.Schedules.GetScheduleAsync("ns", "s-1", CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task RunningBatches_AreListedByTheirShard_AndJobsFromBeforeShardsByShardZerosOwner()
    {
        var start = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.True(await Store.Batches.InsertBatchAsync(new BatchRecord("ns", "on-1", 1, start, null, 0, 0, 0, null, [1]) { ShardId = 1 }, CancellationToken.None));
        Assert.True(await Store.Batches.InsertBatchAsync(new BatchRecord("ns", "before-shards", 1, start, null, 0, 0, 0, null, [1]), CancellationToken.None));
        Assert.True(await Store.Batches.InsertBatchAsync(new BatchRecord("ns", "done-on-1", 2, start, start, 0, 0, 0, null, [1]) { ShardId = 1 }, CancellationToken.None));

        var ofShard1 = await Store.Batches.RunningBatchesAsync(1, withUnassigned: false, CancellationToken.None);
        Assert.Equal([("on-1", (int?)1)], ofShard1.Select(b => (b.JobKey, b.ShardId)));
        Assert.Equal(["before-shards"], (await Store.Batches.RunningBatchesAsync(0, withUnassigned: true, CancellationToken.None)).Select(b => b.JobKey));
        Assert.Empty(await Store.Batches.RunningBatchesAsync(0, withUnassigned: false, CancellationToken.None));
    }

    private static ScheduleWrite NewSchedule(string id, int shard, long range, long expected = 0) => new()
    {
        NamespaceId = "ns",
        ScheduleId = id,
        ShardId = shard,
        RangeId = range,
        ExpectedVersion = expected,
        NewVersion = expected + 1,
        Data = [7],
    };

    [Fact]
    public async Task ListBatches_PagesThroughJobsStartedAtTheSameTime_ByJobKey()
    {
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var key in new[] { "c", "a", "e", "b", "d" })
        {
            Assert.True(await Store.Batches.InsertBatchAsync(new BatchRecord("ns", key, 1, start, null, 0, 0, 0, null, [1]), CancellationToken.None));
        }

        var seen = new List<string>();
        (long, string)? after = null;
        for (var page = 0; page < 5; page++)
        {
            var rows = await Store.Batches.ListBatchesAsync("ns", 2, after, CancellationToken.None);
            seen.AddRange(rows.Select(r => r.JobKey));
            if (rows.Count < 2)
            {
                break;
            }

            after = (rows[^1].StartTime.Ticks, rows[^1].JobKey);
        }

        Assert.Equal(["e", "d", "c", "b", "a"], seen);
    }

    [Fact]
    public async Task Audit_RecordsAreChainedAfterTheStoredHead_AndRetentionMovesTheAnchor()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        await Store.CommitAsync(new CommitBatch([], Chain, [new FixedAudit(t0), new FixedAudit(t0.AddMinutes(1))], AuditRecordCodec.Plain), CancellationToken.None);
        await Store.CommitAsync(new CommitBatch([], Chain, [new FixedAudit(t0.AddMinutes(2))], AuditRecordCodec.Plain), CancellationToken.None);

        var records = (await Store.Audit.ReadAuditAsync(new AuditQuery(Chain, 0, 10), CancellationToken.None)).Select(AuditRecordCodec.Plain.Decode).ToList();
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Sequence));
        Assert.Equal(records[1].Hash, FixedAudit.PreviousHash(records[2].Data)); // the second commit chained after the stored head
        Assert.Equal(3, (await HeadOf(Store, Chain)).Head.Sequence);

        Assert.Equal(2, await Store.Audit.DeleteAuditBeforeAsync(Chain, t0.AddMinutes(2), 10, CancellationToken.None));
        var anchor = (await HeadOf(Store, Chain)).Anchor;
        Assert.Equal(2, anchor.Sequence);
        Assert.Equal(records[1].Hash, anchor.Hash);
        Assert.Equal([3L], (await Store.Audit.ReadAuditAsync(new AuditQuery(Chain, 0, 10), CancellationToken.None)).Select(r => r.Sequence));
        Assert.Equal(3, (await HeadOf(Store, Chain)).Head.Sequence);

        Assert.Empty((await Store.Audit.ReadAuditCursorAsync("sink", CancellationToken.None)).Chains);
        await Store.Audit.WriteAuditCursorAsync("sink", new AuditPosition(new Dictionary<string, long> { [Chain] = 3, ["shard/1"] = 7 }), CancellationToken.None);
        await Store.Audit.WriteAuditCursorAsync("sink", new AuditPosition(new Dictionary<string, long> { ["shard/1"] = 9 }), CancellationToken.None);
        var cursor = await Store.Audit.ReadAuditCursorAsync("sink", CancellationToken.None);
        Assert.Equal((3L, 9L), (cursor.After(Chain), cursor.After("shard/1")));
    }

    /// <summary>
    /// Chains are independent: each numbers its records from 1 and keeps its own head; one batch may append to several;
    /// a reader merges them by commit time and a position per chain, so a page never skips or repeats a record.
    /// </summary>
    [Fact]
    public async Task Audit_Chains_AreNumberedApart_AndReadMergedByPosition()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        await Store.CommitAsync(new CommitBatch([], [new AuditAppend("shard/0", [new FixedAudit(t0)]), new AuditAppend("node/x", [new FixedAudit(t0), new FixedAudit(t0)])], AuditRecordCodec.Plain), CancellationToken.None);
        await Store.CommitAsync(new CommitBatch([], "shard/0", [new FixedAudit(t0)], AuditRecordCodec.Plain), CancellationToken.None);

        var chains = await Store.Audit.ListAuditChainsAsync(CancellationToken.None);
        Assert.Equal([("node/x", 2L), ("shard/0", 2L)], chains.Select(c => (c.Chain, c.Head.Sequence)));

        var first = await AuditReader.ReadAsync(Store.Audit, AuditPosition.Start, 2, null, CancellationToken.None);
        Assert.True(first.More);
        Assert.Equal([("node/x", 1L), ("node/x", 2L)], first.Records.Select(r => (r.Chain, r.Sequence))); // same commit: by chain, then sequence
        var rest = await AuditReader.ReadAsync(Store.Audit, first.Next, 10, null, CancellationToken.None);
        Assert.False(rest.More);
        Assert.Equal([("shard/0", 1L), ("shard/0", 2L)], rest.Records.Select(r => (r.Chain, r.Sequence)));

        // A record committed after the position was taken is found from it.
        await Store.CommitAsync(new CommitBatch([], "node/x", [new FixedAudit(t0)], AuditRecordCodec.Plain), CancellationToken.None);
        Assert.Equal([("node/x", 3L)], (await AuditReader.ReadAsync(Store.Audit, rest.Next, 10, null, CancellationToken.None)).Records.Select(r => (r.Chain, r.Sequence)));
    }

    /// <summary>The records of an account emitted at one instant, whatever their chain: the candidates a record in doubt is looked for among.</summary>
    [Fact]
    public async Task Audit_RecordsEmittedAtAnInstant_AreFoundInEveryChain()
    {
        var t0 = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        await Store.CommitAsync(new CommitBatch([], [new AuditAppend("shard/0", [new FixedAudit(t0)]), new AuditAppend("node/x", [new FixedAudit(t0), new FixedAudit(t0.AddTicks(1))])], AuditRecordCodec.Plain), CancellationToken.None);
        await Store.CommitAsync(new CommitBatch([], "shard/3", [new FixedAudit(t0), new FixedAudit(t0, "other")], AuditRecordCodec.Plain), CancellationToken.None);

        var found = await Store.Audit.ReadAuditEmittedAtAsync("acct", t0, 10, CancellationToken.None);
        Assert.Equal([("node/x", 1L), ("shard/0", 1L), ("shard/3", 1L)], found.Select(r => (r.Chain, r.Sequence)).Order());
        Assert.All(found, r => Assert.Equal((t0, "acct"), (r.EmitTime, r.Account)));
        Assert.Single(await Store.Audit.ReadAuditEmittedAtAsync("other", t0, 10, CancellationToken.None));
        Assert.Equal(2, (await Store.Audit.ReadAuditEmittedAtAsync("acct", t0, 2, CancellationToken.None)).Count);
    }

    private const string Chain = "node/test";

    private static async Task<AuditChainHead> HeadOf(IStorageProvider store, string chain) =>
        (await store.Audit.ListAuditChainsAsync(CancellationToken.None)).Single(c => c.Chain == chain);

    [Fact]
    public async Task Migrate_KeepsTheShardCountAndClusterIdOfAnExistingCluster()
    {
        var first = await Store.MigrateAsync(2, CancellationToken.None);
        var again = await Store.MigrateAsync(16, CancellationToken.None);
        Assert.Equal(first, again);
        Assert.Equal(2, again.ShardCount);
    }

    [Fact]
    public async Task Commit_CreatesARun_WithHistoryStateAndTasks()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        var write = NewRun(range, "wf-1", "run-1");
        Assert.Null(Assert.Single(await CommitAsync(write)));

        Assert.Equal("run-1", await Store.Executions.GetCurrentRunIdAsync("ns", "wf-1", CancellationToken.None));
        var execution = (await Store.Executions.GetExecutionAsync("ns", "run-1", CancellationToken.None))!;
        Assert.Equal(1, execution.Version);
        Assert.Equal([1, 2, 3], execution.State);
        var batch = Assert.Single(await Store.Executions.ReadHistoryAsync("ns", "run-1", 1, 10, CancellationToken.None));
        Assert.Equal((1, 2), (batch.FirstEventId, batch.LastEventId));
        Assert.Single(await AllTasksAsync(0), t => t.RunId == "run-1");
    }

    [Fact]
    public async Task Commit_WithAStaleShardToken_IsRejected_AndWritesNothing()
    {
        var stale = await Store.Shards.AcquireRangeAsync(0);
        await Store.Shards.AcquireRangeAsync(0); // another owner took the shard
        var result = Assert.Single(await CommitAsync(NewRun(stale, "wf-2", "run-2")));
        Assert.Equal(0, Assert.IsType<ShardOwnershipLostException>(result).ShardId);
        Assert.Null(await Store.Executions.GetExecutionAsync("ns", "run-2", CancellationToken.None));
    }

    [Fact]
    public async Task Commit_WithAStaleVersion_NamesThatTransition_AndWritesNothingOfTheBatch()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await CommitAsync(NewRun(range, "wf-3", "run-3"));
        var stale = Update(range, "wf-3", "run-3", expected: 5, events: (3, 3));
        var other = NewRun(range, "wf-4", "run-4");
        var results = await CommitAsync(stale, other);

        Assert.IsType<ConditionFailedException>(results[0]);
        Assert.Null(results[1]);
        Assert.Single(await Store.Executions.ReadHistoryAsync("ns", "run-3", 1, 10, CancellationToken.None)); // the stale write's events are not there
        Assert.Equal(1, (await Store.Executions.GetExecutionAsync("ns", "run-3", CancellationToken.None))!.Version);
        Assert.Null(await Store.Executions.GetExecutionAsync("ns", "run-4", CancellationToken.None)); // all or nothing: the caller commits it again

        Assert.Equal([null], await CommitAsync(other));
        Assert.NotNull(await Store.Executions.GetExecutionAsync("ns", "run-4", CancellationToken.None));
    }

    [Fact]
    public async Task Commit_CreatingARunOverAnUnexpectedCurrentRun_IsRejected()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await CommitAsync(NewRun(range, "wf-5", "run-5a"));
        Assert.IsType<ConditionFailedException>((await CommitAsync(NewRun(range, "wf-5", "run-5b")))[0]);
        Assert.Null((await CommitAsync(NewRun(range, "wf-5", "run-5c", replaces: "run-5a")))[0]);
        Assert.Equal("run-5c", await Store.Executions.GetCurrentRunIdAsync("ns", "wf-5", CancellationToken.None));
    }

    [Fact]
    public async Task Commit_DeletesTasksByKey_AndAllTasksOfAClosedRun()
    {
        var range = await Store.Shards.AcquireRangeAsync(1);
        var create = NewRun(range, "wf-6", "run-6", shard: 1);
        await CommitAsync(create);
        var task = create.NewTasks[0];
        await CommitAsync(Update(range, "wf-6", "run-6", expected: 1, shard: 1, deleted: [task.Key]));
        Assert.DoesNotContain(await AllTasksAsync(1), t => t.RunId == "run-6");

        await CommitAsync(Update(range, "wf-6", "run-6", expected: 2, shard: 1, newTasks: [task, task with { EventId = 9 }]));
        Assert.Equal(2, (await AllTasksAsync(1)).Count(t => t.RunId == "run-6"));
        await CommitAsync(Update(range, "wf-6", "run-6", expected: 3, shard: 1, deleteAll: true));
        Assert.DoesNotContain(await AllTasksAsync(1), t => t.RunId == "run-6");
    }

    [Fact]
    public async Task ReadHistory_ReturnsBatchesFromTheRequestedEvent_InOrder()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await CommitAsync(NewRun(range, "wf-7", "run-7"));
        await CommitAsync(Update(range, "wf-7", "run-7", expected: 1, events: (3, 5)));
        await CommitAsync(Update(range, "wf-7", "run-7", expected: 2, events: (6, 6)));
        Assert.Equal([3L, 6L], (await Store.Executions.ReadHistoryAsync("ns", "run-7", 4, 10, CancellationToken.None)).Select(b => b.FirstEventId));
        Assert.Equal([1L], (await Store.Executions.ReadHistoryAsync("ns", "run-7", 1, 1, CancellationToken.None)).Select(b => b.FirstEventId));
    }

    [Fact]
    public async Task NamespacesAndIdentities_AreWrittenByTransitions_AndListed()
    {
        await CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-1", "alpha", "acct", [7])) });
        await CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-1", "alpha", "acct", [8])) });
        await CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-2", "beta", "acct", [1])) });
        await CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-2", "beta", "acct", []), Deletes: true) });
        var stored = Assert.Single(await Store.Metadata.ListNamespacesAsync(CancellationToken.None));
        Assert.Equal("id-1", stored.Id);
        Assert.Equal([8], stored.Data);

        await CommitAsync(
            new Transition([]) { Identities = [new IdentityWrite(new IdentityRecord("user", "u-1", "acct", [1])), new IdentityWrite(new IdentityRecord("api-key", "k-1", "acct", [2]))] });
        await CommitAsync(new Transition([]) { Identities = [new IdentityWrite(new IdentityRecord("api-key", "k-1", "acct", []), Deletes: true)] });
        Assert.Equal("u-1", Assert.Single(await Store.Metadata.ListIdentitiesAsync(CancellationToken.None)).Id);
    }

    [Fact]
    public async Task NamespacePurge_IsRecordedWithTheDeletion_RemovesOnlyThatNamespacesRows_InBoundedFencedSteps()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        var deletedAt = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        foreach (var (ns, run) in new[] { ("doomed", "p-1"), ("doomed", "p-2"), ("doomed", "p-3"), ("kept", "k-1") })
        {
            await CommitAsync(WithVisibility(NewRun(range, "wf-" + run, run, ns: ns), deletedAt));
        }

        var doomedRows = await Store.NamespacePurges.CountNamespaceRowsAsync("doomed", CancellationToken.None);
        Assert.Equal(15, doomedRows); // per run: execution, task, current run, visibility, history
        var keptRows = await Store.NamespacePurges.CountNamespaceRowsAsync("kept", CancellationToken.None);

        await CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("doomed", "alpha", "acct", [1])) });
        Assert.Empty(await Store.NamespacePurges.ListNamespacePurgesAsync(CancellationToken.None));
        await CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("doomed", "alpha", "acct", []), Deletes: true) { DeletedTime = deletedAt } });
        Assert.Equal(new NamespacePurgeRecord("doomed", "alpha", "acct", deletedAt, 0), Assert.Single(await Store.NamespacePurges.ListNamespacePurgesAsync(CancellationToken.None)));

        var stale = await Store.Shards.AcquireRangeAsync(1);
        var moved = await Store.Shards.AcquireRangeAsync(1);
        await Assert.ThrowsAsync<ShardOwnershipLostException>(() => Store.NamespacePurges.PurgeNamespaceStepAsync("doomed", 4, (1, stale), CancellationToken.None));
        Assert.Equal(doomedRows, await Store.NamespacePurges.CountNamespaceRowsAsync("doomed", CancellationToken.None));

        var steps = new List<int>();
        int removed;
        while ((removed = await Store.NamespacePurges.PurgeNamespaceStepAsync("doomed", 4, (1, moved), CancellationToken.None)) > 0)
        {
            steps.Add(removed);
        }

        Assert.All(steps, n => Assert.InRange(n, 1, 4)); // bounded: a run and its one task here are two rows
        Assert.Equal(doomedRows, steps.Sum());
        Assert.Equal(0, await Store.NamespacePurges.CountNamespaceRowsAsync("doomed", CancellationToken.None));
        Assert.Null(await Store.Executions.GetExecutionAsync("doomed", "p-1", CancellationToken.None));
        Assert.Equal(doomedRows, Assert.Single(await Store.NamespacePurges.ListNamespacePurgesAsync(CancellationToken.None)).Purged);

        Assert.Equal(keptRows, await Store.NamespacePurges.CountNamespaceRowsAsync("kept", CancellationToken.None));
        Assert.NotNull(await Store.Executions.GetExecutionAsync("kept", "k-1", CancellationToken.None));

        Assert.True(await Store.NamespacePurges.FinishNamespacePurgeAsync("doomed", CancellationToken.None));
        Assert.False(await Store.NamespacePurges.FinishNamespacePurgeAsync("doomed", CancellationToken.None));
        Assert.Empty(await Store.NamespacePurges.ListNamespacePurgesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ARejectedTransition_TakesTheMetadataWritesOfItsBatchBackToo()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        var results = await CommitAsync(
            new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-3", "gamma", "acct", [1])) },
            new Transition([Update(range, "wf-none", "run-none", expected: 1)]));
        Assert.Equal([false, true], results.Select(r => r is not null));
        Assert.Empty(await Store.Metadata.ListNamespacesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DataKeys_AreAddedOncePerVersion_AndRetiringErasesTheirMaterial()
    {
        Assert.True(await Store.Metadata.AddDataKeyAsync(new Bastion.Storage.Encryption.DataKeyRecord("ns", 1, [1, 2], Retired: false), CancellationToken.None));
        Assert.False(await Store.Metadata.AddDataKeyAsync(new Bastion.Storage.Encryption.DataKeyRecord("ns", 1, [9, 9], Retired: false), CancellationToken.None));
        await Store.Metadata.RetireDataKeyAsync("ns", 1, CancellationToken.None);
        var key = Assert.Single(await Store.Metadata.ListDataKeysAsync(CancellationToken.None));
        Assert.True(key.Retired);
        Assert.Empty(key.Wrapped);
        Assert.Equal("a", await Store.Metadata.EnsureClusterSettingAsync("mode", "a", CancellationToken.None));
        Assert.Equal("a", await Store.Metadata.EnsureClusterSettingAsync("mode", "b", CancellationToken.None));
    }

    [Fact]
    public async Task EncodedRecords_AreScannedWithTheirIdentityKeys_AndReplacedOnlyWhenUnchanged()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await CommitAsync(NewRun(range, "wf-s", "run-s"));
        var state = Assert.Single(await Store.Records.ScanRecordsAsync("executions", "ns", 0, 10, CancellationToken.None));
        Assert.Equal("run-s", state.Key);
        Assert.Equal([1, 2, 3], state.Value);
        var history = Assert.Single(await Store.Records.ScanRecordsAsync("history", "ns", 0, 10, CancellationToken.None));
        Assert.Equal("run-s/1", history.Key);
        var task = Assert.Single(await Store.Records.ScanRecordsAsync("tasks.workflow_id", "ns", 0, 10, CancellationToken.None), t => t.Key.StartsWith("run-s/", StringComparison.Ordinal));
        Assert.Equal("wf-s"u8.ToArray(), task.Value);

        Assert.True(await Store.Records.ReplaceRecordAsync(state, [7], CancellationToken.None));
        Assert.False(await Store.Records.ReplaceRecordAsync(state, [8], CancellationToken.None)); // it changed since it was read
        Assert.Equal([7], (await Store.Executions.GetExecutionAsync("ns", "run-s", CancellationToken.None))!.State);
        Assert.True(await Store.Records.ReplaceRecordAsync(task, "wf-t"u8.ToArray(), CancellationToken.None));
        Assert.Contains(await AllTasksAsync(0), t => t.WorkflowId == "wf-t");
        Assert.Empty(await Store.Records.ScanRecordsAsync("executions", "other-ns", 0, 10, CancellationToken.None));
    }

    [Fact]
    public async Task ClosedRunsWithoutTask_FindsClosedRunsLackingThatKindOfTask()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await CommitAsync(NewRun(range, "wf-open", "run-open"), NewRun(range, "wf-closed", "run-closed"), NewRun(range, "wf-timed", "run-timed"));
        await CommitAsync(
            Update(range, "wf-closed", "run-closed", 1, deleteAll: true, status: 2),
            Update(range, "wf-timed", "run-timed", 1, deleteAll: true, status: 2, newTasks: [new TaskRecord(0, "ns", "wf-timed", "run-timed", 19, 3, 0, DateTime.UtcNow, null)]));

        Assert.Equal("run-closed", Assert.Single(await Store.Executions.ClosedRunsWithoutTaskAsync(0, 19, null, 10, CancellationToken.None)).RunId);
        Assert.Empty(await Store.Executions.ClosedRunsWithoutTaskAsync(1, 19, null, 10, CancellationToken.None)); // another shard's
        Assert.Empty(await Store.Executions.ClosedRunsWithoutTaskAsync(0, 19, "run-closed", 10, CancellationToken.None)); // after the cursor
    }

    [Fact]
    public async Task BatchJobs_AreUniquePerNamespace_ListedNewestFirst_AndUpdatedOnlyWhileRunning()
    {
        var batches = Store.Batches;
        var none = CancellationToken.None;
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        BatchRecord Job(string key, int minutes) => new("ns", key, 1, start.AddMinutes(minutes), null, 5, 0, 0, null, [7]);
        Assert.True((await batches.InsertBatchAsync(Job("a", 0), none)));
        Assert.True((await batches.InsertBatchAsync(Job("b", 1), none)));
        Assert.False((await batches.InsertBatchAsync(Job("a", 2), none)));
        Assert.True((await batches.InsertBatchAsync(Job("a", 0) with { NamespaceId = "other" }, none)));

        var first = Assert.Single((await batches.ListBatchesAsync("ns", 1, null, none)));
        Assert.Equal("b", first.JobKey);
        Assert.Equal("a", Assert.Single((await batches.ListBatchesAsync("ns", 1, (first.StartTime.Ticks, first.JobKey), none))).JobKey);
        Assert.Equal(2, (await batches.CountRunningBatchesAsync("ns", none)));

        Assert.True((await batches.UpdateRunningBatchAsync("ns", "a", 1, null, 5, 2, 1, "i:3", none)));
        Assert.True((await batches.UpdateRunningBatchAsync("ns", "a", 3, start, 5, 2, 1, "i:3", none)));
        Assert.False((await batches.UpdateRunningBatchAsync("ns", "a", 1, null, 5, 3, 1, "i:4", none)));
        var a = (await batches.GetBatchAsync("ns", "a", none))!;
        Assert.Equal((3, 2L, 1L, "i:3", start), (a.State, a.Completed, a.Failed, a.Cursor, a.CloseTime!.Value));
        Assert.Equal([7], a.Request);
        Assert.DoesNotContain((await batches.RunningBatchesAsync(0, withUnassigned: true, none)), r => r is { NamespaceId: "ns", JobKey: "a" });
        Assert.Equal(1, (await batches.CountRunningBatchesAsync("ns", none)));

        Assert.Equal(0, (await batches.DeleteClosedBatchesAsync("ns", start, none)));
        Assert.Equal(1, (await batches.DeleteClosedBatchesAsync("ns", start.AddTicks(1), none)));
        Assert.Null((await batches.GetBatchAsync("ns", "a", none)));
        Assert.NotNull((await batches.GetBatchAsync("ns", "b", none)));
    }

    [Fact]
    public async Task Tasks_AreReadByDueTime_InPages_WithTiesOrderedByKey_AndNothingDueLaterThanAsked()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        var start = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        TaskRecord Timer(string run, int minutes) => new(0, "ns", "wf-p", run, 12, 5, 0, start.AddMinutes(minutes), null);
        var tasks = new[] { Timer("run-c", 1), Timer("run-a", 1), Timer("run-b", 1), Timer("run-d", 0), Timer("run-e", 2), Timer("run-f", 30) };
        await CommitAsync(NewRun(range, "wf-p", "run-p", tasks: tasks));

        var read = new List<TaskRecord>();
        TaskCursor? after = null;
        while (true)
        {
            var page = await Store.Tasks.ReadTasksAsync(0, after, start.AddMinutes(10), 2, CancellationToken.None);
            read.AddRange(page);
            if (page.Count < 2)
            {
                break;
            }

            after = TaskCursor.Of(page[^1]);
        }

        Assert.Equal(["run-d", "run-a", "run-b", "run-c", "run-e"], read.Where(t => t.WorkflowId == "wf-p").Select(t => t.RunId));
        var slice = await Store.Tasks.ReadTasksAsync(0, new TaskCursor(start.AddMinutes(1), new TaskKey(string.Empty, int.MinValue, long.MinValue, int.MinValue)), start.AddMinutes(2), 10, CancellationToken.None);
        Assert.Equal(["run-a", "run-b", "run-c"], slice.Select(t => t.RunId));
    }

    private async Task<IReadOnlyList<TaskRecord>> AllTasksAsync(int shard) =>
        await Store.Tasks.ReadTasksAsync(shard, null, DateTime.MaxValue, 10_000, CancellationToken.None);

    /// <summary>Commits each write as a transition of its own, in one batch; returns the rejections (all null: committed).</summary>
    private async Task<IReadOnlyList<Exception?>> CommitAsync(params ExecutionWrite[] independent) =>
        (await Store.CommitAsync(new CommitBatch([.. independent.Select(w => new Transition([w]))], []), CancellationToken.None)).Rejected;

    private async Task<IReadOnlyList<Exception?>> CommitAsync(params Transition[] transitions) =>
        (await Store.CommitAsync(new CommitBatch(transitions, []), CancellationToken.None)).Rejected;

    [Fact]
    public async Task Commit_OfATransitionWithTwoWrites_IsAllOrNothing()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await CommitAsync(NewRun(range, "wf-8", "run-8a"));
        var close = Update(range, "wf-8", "run-8a", expected: 1, events: (3, 3));
        var next = NewRun(range, "wf-8", "run-8b", replaces: "run-8x"); // wrong current run: rejected
        Assert.IsType<ConditionFailedException>(Assert.Single(await CommitAsync(new Transition([close, next]))));
        Assert.Equal(1, (await Store.Executions.GetExecutionAsync("ns", "run-8a", CancellationToken.None))!.Version);
        Assert.Single(await Store.Executions.ReadHistoryAsync("ns", "run-8a", 1, 10, CancellationToken.None));

        next = NewRun(range, "wf-8", "run-8b", replaces: "run-8a");
        Assert.Null(Assert.Single(await CommitAsync(new Transition([close, next]))));
        Assert.Equal(2, (await Store.Executions.GetExecutionAsync("ns", "run-8a", CancellationToken.None))!.Version);
        Assert.Equal("run-8b", await Store.Executions.GetCurrentRunIdAsync("ns", "wf-8", CancellationToken.None));
    }

    private static ListQuery BindList(string query) => Binder.Bind(Parser.Parse(query), ResolveSystem, forCount: false);

    private static ListQuery BindCount(string query) => Binder.Bind(Parser.Parse(query), ResolveSystem, forCount: true);

    private static AttributeDefinition? ResolveSystem(string name) => SystemAttributes.TryGet(name, out var system) ? system : null;

    private static ExecutionWrite WithVisibility(ExecutionWrite write, DateTime start, int status = 1) => new()
    {
        ShardId = write.ShardId,
        RangeId = write.RangeId,
        NamespaceId = write.NamespaceId,
        WorkflowId = write.WorkflowId,
        RunId = write.RunId,
        ExpectedVersion = write.ExpectedVersion,
        NewVersion = write.NewVersion,
        Status = write.Status,
        State = write.State,
        ReplacesCurrentRunId = write.ReplacesCurrentRunId,
        Events = write.Events,
        NewTasks = write.NewTasks,
        Visibility = new VisibilityRecord
        {
            WorkflowId = write.WorkflowId,
            WorkflowType = "Order",
            Status = status,
            StartTime = start,
            ExecutionTime = start,
            CloseTime = status == 1 ? null : start.AddMinutes(1),
            TaskQueue = "tq",
            SearchAttributesJson = "{}",
            Info = [5],
        },
    };

    private static ExecutionWrite NewRun(long range, string workflowId, string runId, int shard = 0, string? replaces = null, IReadOnlyList<TaskRecord>? tasks = null, string ns = "ns") => new()
    {
        ShardId = shard,
        RangeId = range,
        NamespaceId = ns,
        WorkflowId = workflowId,
        RunId = runId,
        ExpectedVersion = 0,
        NewVersion = 1,
        Status = 1,
        State = [1, 2, 3],
        ReplacesCurrentRunId = replaces,
        Events = new HistoryBatch(1, 2, [9]),
        NewTasks = tasks ?? [new TaskRecord(shard, ns, workflowId, runId, 1, 2, 1, DateTime.UtcNow, "tq")],
    };

    private static ExecutionWrite Update(
        long range, string workflowId, string runId, long expected, int shard = 0, (long, long)? events = null,
        IReadOnlyList<TaskKey>? deleted = null, IReadOnlyList<TaskRecord>? newTasks = null, bool deleteAll = false, int status = 1) => new()
    {
        ShardId = shard,
        RangeId = range,
        NamespaceId = "ns",
        WorkflowId = workflowId,
        RunId = runId,
        ExpectedVersion = expected,
        NewVersion = expected + 1,
        Status = status,
        State = [4],
        Events = events is var (first, last) ? new HistoryBatch(first, last, [9]) : null,
        DeletedTasks = deleted ?? [],
        NewTasks = newTasks ?? [],
        DeleteAllTasks = deleteAll,
    };

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Cleanup();
    }

    protected virtual void Cleanup()
    {
    }

    /// <summary>Holds a commit in flight until <see cref="Release"/>: as an audit record whose sealing waits, or by <see cref="Hold"/>.</summary>
    private protected sealed class GateAudit : PendingAudit, IDisposable
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public void Hold()
        {
            Entered.Set();
            Release.Wait(TimeSpan.FromSeconds(30));
        }

        public override StoredAuditRecord Seal(string chain, long sequence, byte[] previousHash)
        {
            Hold();
            return new FixedAudit(DateTime.UtcNow).Seal(chain, sequence, previousHash);
        }

        public void Dispose()
        {
            Entered.Dispose();
            Release.Dispose();
        }
    }

    /// <summary>A record whose data is its sequence and its predecessor's hash, so a test can check the chain.</summary>
    private sealed class FixedAudit(DateTime emitTime, string account = "acct") : PendingAudit
    {
        public override StoredAuditRecord Seal(string chain, long sequence, byte[] previousHash)
        {
            byte[] data = [.. BitConverter.GetBytes(sequence), .. previousHash];
            return new StoredAuditRecord(chain, sequence, emitTime, account, null, data, SHA256.HashData(data));
        }

        public static byte[] PreviousHash(byte[] data) => data[8..];
    }
}

public sealed class SqliteFileProviderTests : StorageProviderConformanceTests
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"bastion-store-{Guid.NewGuid():N}.db");

    protected override Task<IStorageProvider> CreateStoreAsync() => Task.FromResult<IStorageProvider>(SqliteStorageProvider.OpenFile(_path));

    protected override Task<IStorageProvider?> OpenSecondWriterAsync() => Task.FromResult<IStorageProvider?>(SqliteStorageProvider.OpenFile(_path));

    protected override Task<bool> MarkSchemaNewerAsync()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_path}");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO schema_version (version) SELECT MAX(version) + 1 FROM schema_version;";
        cmd.ExecuteNonQuery();
        return Task.FromResult(true);
    }

    [Fact]
    public async Task Reopening_AFile_KeepsEverythingCommitted()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await Store.CommitAsync(new CommitBatch([new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-9", "beta", "acct", [1])) }], []), CancellationToken.None);
        await Store.DisposeAsync();
        await using var reopened = SqliteStorageProvider.OpenFile(_path);
        await reopened.MigrateAsync(2, CancellationToken.None);
        Assert.Single(await reopened.ListNamespacesAsync(CancellationToken.None));
        Assert.True(await reopened.AcquireRangeAsync(0) > range);
    }

    protected override void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }
}

public sealed class SqliteMemoryProviderTests : StorageProviderConformanceTests
{
    protected override Task<IStorageProvider> CreateStoreAsync() => Task.FromResult<IStorageProvider>(SqliteStorageProvider.OpenInMemory());

    protected override Task<bool> MarkSchemaNewerAsync() => Task.FromResult(false);

    protected override Task<IStorageProvider?> OpenSecondWriterAsync() => Task.FromResult<IStorageProvider?>(null);
}
