using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage;

/// <summary>What every store dialect must do; subclassed once per backend.</summary>
public abstract class ExecutionStoreConformanceTests : IDisposable
{
    private readonly Lazy<IExecutionStore> _store;

    protected ExecutionStoreConformanceTests() => _store = new(() =>
    {
        var store = CreateStore();
        store.Initialize(2);
        return store;
    });

    protected IExecutionStore Store => _store.Value;

    protected abstract IExecutionStore CreateStore();

    [Fact]
    public void Initialize_KeepsTheShardCountAndClusterIdOfAnExistingCluster()
    {
        var first = Store.Initialize(2);
        var again = Store.Initialize(16);
        Assert.Equal(first, again);
        Assert.Equal(2, again.ShardCount);
    }

    [Fact]
    public void Commit_CreatesARun_WithHistoryStateAndTasks()
    {
        var range = Store.AcquireShard(0);
        var write = NewRun(range, "wf-1", "run-1");
        Assert.Null(Assert.Single(Commit(write)));

        Assert.Equal("run-1", Store.GetCurrentRunId("ns", "wf-1"));
        var execution = Store.GetExecution("ns", "run-1")!;
        Assert.Equal(1, execution.Version);
        Assert.Equal([1, 2, 3], execution.State);
        var batch = Assert.Single(Store.ReadHistory("ns", "run-1", 1, 10));
        Assert.Equal((1, 2), (batch.FirstEventId, batch.LastEventId));
        Assert.Single(Store.LoadTasks(0), t => t.RunId == "run-1");
    }

    [Fact]
    public void Commit_WithAStaleShardToken_IsRejected_AndWritesNothing()
    {
        var stale = Store.AcquireShard(0);
        Store.AcquireShard(0); // another owner took the shard
        var result = Assert.Single(Commit(NewRun(stale, "wf-2", "run-2")));
        Assert.IsType<ConditionFailedException>(result);
        Assert.Null(Store.GetExecution("ns", "run-2"));
    }

    [Fact]
    public void Commit_WithAStaleVersion_FailsOnlyThatWrite_InTheBatch()
    {
        var range = Store.AcquireShard(0);
        Commit(NewRun(range, "wf-3", "run-3"));
        var stale = Update(range, "wf-3", "run-3", expected: 5, events: (3, 3));
        var other = NewRun(range, "wf-4", "run-4");
        var results = Commit(stale, other);

        Assert.IsType<ConditionFailedException>(results[0]);
        Assert.Null(results[1]);
        Assert.Single(Store.ReadHistory("ns", "run-3", 1, 10)); // the stale write's events are not there
        Assert.Equal(1, Store.GetExecution("ns", "run-3")!.Version);
        Assert.NotNull(Store.GetExecution("ns", "run-4"));
    }

    [Fact]
    public void Commit_CreatingARunOverAnUnexpectedCurrentRun_IsRejected()
    {
        var range = Store.AcquireShard(0);
        Commit(NewRun(range, "wf-5", "run-5a"));
        Assert.IsType<ConditionFailedException>(Commit(NewRun(range, "wf-5", "run-5b"))[0]);
        Assert.Null(Commit(NewRun(range, "wf-5", "run-5c", replaces: "run-5a"))[0]);
        Assert.Equal("run-5c", Store.GetCurrentRunId("ns", "wf-5"));
    }

    [Fact]
    public void Commit_DeletesTasksByKey_AndAllTasksOfAClosedRun()
    {
        var range = Store.AcquireShard(1);
        var create = NewRun(range, "wf-6", "run-6", shard: 1);
        Commit(create);
        var task = create.NewTasks[0];
        Commit(Update(range, "wf-6", "run-6", expected: 1, shard: 1, deleted: [task.Key]));
        Assert.DoesNotContain(Store.LoadTasks(1), t => t.RunId == "run-6");

        Commit(Update(range, "wf-6", "run-6", expected: 2, shard: 1, newTasks: [task, task with { EventId = 9 }]));
        Assert.Equal(2, Store.LoadTasks(1).Count(t => t.RunId == "run-6"));
        Commit(Update(range, "wf-6", "run-6", expected: 3, shard: 1, deleteAll: true));
        Assert.DoesNotContain(Store.LoadTasks(1), t => t.RunId == "run-6");
    }

    [Fact]
    public void ReadHistory_ReturnsBatchesFromTheRequestedEvent_InOrder()
    {
        var range = Store.AcquireShard(0);
        Commit(NewRun(range, "wf-7", "run-7"));
        Commit(Update(range, "wf-7", "run-7", expected: 1, events: (3, 5)));
        Commit(Update(range, "wf-7", "run-7", expected: 2, events: (6, 6)));
        Assert.Equal([3L, 6L], Store.ReadHistory("ns", "run-7", 4, 10).Select(b => b.FirstEventId));
        Assert.Equal([1L], Store.ReadHistory("ns", "run-7", 1, 1).Select(b => b.FirstEventId));
    }

    [Fact]
    public void Namespaces_AreStoredAndListed()
    {
        Store.UpsertNamespace(new NamespaceRecord("id-1", "alpha", "acct", [7]));
        Store.UpsertNamespace(new NamespaceRecord("id-1", "alpha", "acct", [8]));
        var stored = Assert.Single(Store.ListNamespaces());
        Assert.Equal([8], stored.Data);
    }

    /// <summary>Commits each write as a transition of its own, in one batch.</summary>
    [Fact]
    public void DataKeys_AreAddedOncePerVersion_AndRetiringErasesTheirMaterial()
    {
        Assert.True(Store.AddDataKey(new Bastion.Storage.Encryption.DataKeyRecord("ns", 1, [1, 2], Retired: false)));
        Assert.False(Store.AddDataKey(new Bastion.Storage.Encryption.DataKeyRecord("ns", 1, [9, 9], Retired: false)));
        Store.RetireDataKey("ns", 1);
        var key = Assert.Single(Store.ListDataKeys());
        Assert.True(key.Retired);
        Assert.Empty(key.Wrapped);
        Assert.Equal("a", Store.EnsureClusterSetting("mode", "a"));
        Assert.Equal("a", Store.EnsureClusterSetting("mode", "b"));
    }

    [Fact]
    public void EncodedRecords_AreScannedWithTheirIdentityKeys_AndReplacedOnlyWhenUnchanged()
    {
        var range = Store.AcquireShard(0);
        Commit(NewRun(range, "wf-s", "run-s"));
        var state = Assert.Single(Store.ScanRecords("executions", "ns", 0, 10));
        Assert.Equal("run-s", state.Key);
        Assert.Equal([1, 2, 3], state.Value);
        var history = Assert.Single(Store.ScanRecords("history", "ns", 0, 10));
        Assert.Equal("run-s/1", history.Key);
        var task = Assert.Single(Store.ScanRecords("tasks.workflow_id", "ns", 0, 10), t => t.Key.StartsWith("run-s/", StringComparison.Ordinal));
        Assert.Equal("wf-s"u8.ToArray(), task.Value);

        Assert.True(Store.ReplaceRecord(state, [7]));
        Assert.False(Store.ReplaceRecord(state, [8])); // it changed since it was read
        Assert.Equal([7], Store.GetExecution("ns", "run-s")!.State);
        Assert.True(Store.ReplaceRecord(task, "wf-t"u8.ToArray()));
        Assert.Contains(Store.LoadTasks(0), t => t.WorkflowId == "wf-t");
        Assert.Empty(Store.ScanRecords("executions", "other-ns", 0, 10));
    }

    [Fact]
    public void ClosedRunsWithoutTask_FindsClosedRunsLackingThatKindOfTask()
    {
        var range = Store.AcquireShard(0);
        Commit(NewRun(range, "wf-open", "run-open"), NewRun(range, "wf-closed", "run-closed"), NewRun(range, "wf-timed", "run-timed"));
        Commit(
            Update(range, "wf-closed", "run-closed", 1, deleteAll: true, status: 2),
            Update(range, "wf-timed", "run-timed", 1, deleteAll: true, status: 2, newTasks: [new TaskRecord(0, "ns", "wf-timed", "run-timed", 19, 3, 0, DateTime.UtcNow, null)]));

        Assert.Equal("run-closed", Assert.Single(Store.ClosedRunsWithoutTask(19)).RunId);
    }

    [Fact]
    public void BatchJobs_AreUniquePerNamespace_ListedNewestFirst_AndUpdatedOnlyWhileRunning()
    {
        var batches = (IBatchStore)Store;
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        BatchRecord Job(string key, int minutes) => new("ns", key, 1, start.AddMinutes(minutes), null, 5, 0, 0, null, [7]);
        Assert.True(batches.InsertBatch(Job("a", 0)));
        Assert.True(batches.InsertBatch(Job("b", 1)));
        Assert.False(batches.InsertBatch(Job("a", 2)));
        Assert.True(batches.InsertBatch(Job("a", 0) with { NamespaceId = "other" }));

        var first = Assert.Single(batches.ListBatches("ns", 1, null));
        Assert.Equal("b", first.JobKey);
        Assert.Equal("a", Assert.Single(batches.ListBatches("ns", 1, (first.StartTime.Ticks, first.JobKey))).JobKey);
        Assert.Equal(2, batches.CountRunningBatches("ns"));

        Assert.True(batches.UpdateRunningBatch("ns", "a", 1, null, 5, 2, 1, "i:3"));
        Assert.True(batches.UpdateRunningBatch("ns", "a", 3, start, 5, 2, 1, "i:3"));
        Assert.False(batches.UpdateRunningBatch("ns", "a", 1, null, 5, 3, 1, "i:4"));
        var a = batches.GetBatch("ns", "a")!;
        Assert.Equal((3, 2L, 1L, "i:3", start), (a.State, a.Completed, a.Failed, a.Cursor, a.CloseTime!.Value));
        Assert.Equal([7], a.Request);
        Assert.DoesNotContain(batches.RunningBatches(), r => r is { NamespaceId: "ns", JobKey: "a" });
        Assert.Equal(1, batches.CountRunningBatches("ns"));

        Assert.Equal(0, batches.DeleteClosedBatches("ns", start));
        Assert.Equal(1, batches.DeleteClosedBatches("ns", start.AddTicks(1)));
        Assert.Null(batches.GetBatch("ns", "a"));
        Assert.NotNull(batches.GetBatch("ns", "b"));
    }

    private IReadOnlyList<Exception?> Commit(params ExecutionWrite[] independent) =>
        Store.Commit(independent.Select(w => (IReadOnlyList<ExecutionWrite>)[w]).ToList());

    [Fact]
    public void Commit_OfATransitionWithTwoWrites_IsAllOrNothing()
    {
        var range = Store.AcquireShard(0);
        Commit(NewRun(range, "wf-8", "run-8a"));
        var close = Update(range, "wf-8", "run-8a", expected: 1, events: (3, 3));
        var next = NewRun(range, "wf-8", "run-8b", replaces: "run-8x"); // wrong current run: rejected
        Assert.IsType<ConditionFailedException>(Assert.Single(Store.Commit([[close, next]])));
        Assert.Equal(1, Store.GetExecution("ns", "run-8a")!.Version);
        Assert.Single(Store.ReadHistory("ns", "run-8a", 1, 10));

        next = NewRun(range, "wf-8", "run-8b", replaces: "run-8a");
        Assert.Null(Assert.Single(Store.Commit([[close, next]])));
        Assert.Equal(2, Store.GetExecution("ns", "run-8a")!.Version);
        Assert.Equal("run-8b", Store.GetCurrentRunId("ns", "wf-8"));
    }

    private static ExecutionWrite NewRun(long range, string workflowId, string runId, int shard = 0, string? replaces = null) => new()
    {
        ShardId = shard,
        RangeId = range,
        NamespaceId = "ns",
        WorkflowId = workflowId,
        RunId = runId,
        ExpectedVersion = 0,
        NewVersion = 1,
        Status = 1,
        State = [1, 2, 3],
        ReplacesCurrentRunId = replaces,
        Events = new HistoryBatch(1, 2, [9]),
        NewTasks = [new TaskRecord(shard, "ns", workflowId, runId, 1, 2, 1, DateTime.UtcNow, "tq")],
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

    public void Dispose()
    {
        if (_store.IsValueCreated)
        {
            _store.Value.Dispose();
        }

        Cleanup();
        GC.SuppressFinalize(this);
    }

    protected virtual void Cleanup()
    {
    }
}

public sealed class SqliteFileStoreTests : ExecutionStoreConformanceTests
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"bastion-store-{Guid.NewGuid():N}.db");

    protected override IExecutionStore CreateStore() => SqliteExecutionStore.OpenFile(_path);

    [Fact]
    public void Reopening_AFile_KeepsEverythingCommitted()
    {
        var range = Store.AcquireShard(0);
        Store.UpsertNamespace(new NamespaceRecord("id-9", "beta", "acct", [1]));
        Store.Dispose();
        using var reopened = SqliteExecutionStore.OpenFile(_path);
        reopened.Initialize(2);
        Assert.Single(reopened.ListNamespaces());
        Assert.True(reopened.AcquireShard(0) > range);
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

public sealed class SqliteMemoryStoreTests : ExecutionStoreConformanceTests
{
    protected override IExecutionStore CreateStore() => SqliteExecutionStore.OpenInMemory();
}
