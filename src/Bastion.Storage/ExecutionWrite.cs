namespace Bastion.Storage;

/// <summary>
/// Everything one state transition of one workflow run writes, committed atomically: new history events,
/// the new mutable state and the tasks it creates or consumes (transactional outbox).
/// </summary>
public sealed class ExecutionWrite
{
    public required int ShardId { get; init; }

    /// <summary>The shard ownership token the writer holds; a store whose shard has moved on rejects the write.</summary>
    public required long RangeId { get; init; }

    public required string NamespaceId { get; init; }

    public required string WorkflowId { get; init; }

    public required string RunId { get; init; }

    /// <summary>The version the writer loaded; 0 creates the run. A different stored version rejects the write.</summary>
    public required long ExpectedVersion { get; init; }

    public required long NewVersion { get; init; }

    /// <summary>The run's status (Temporal's WorkflowExecutionStatus number), kept in plain text for listing.</summary>
    public required int Status { get; init; }

    /// <summary>Encoded mutable state.</summary>
    public required byte[] State { get; init; }

    /// <summary>When creating a run: the current run it replaces (null when the workflow id has none).</summary>
    public string? ReplacesCurrentRunId { get; init; }

    /// <summary>True when this write creates the run (and makes it the workflow id's current run).</summary>
    public bool CreatesRun => ExpectedVersion == 0;

    public HistoryBatch? Events { get; init; }

    public IReadOnlyList<TaskRecord> NewTasks { get; init; } = [];

    public IReadOnlyList<TaskKey> DeletedTasks { get; init; } = [];

    /// <summary>Deletes every task of the run (it closed).</summary>
    public bool DeleteAllTasks { get; init; }

    /// <summary>The run's new visibility row (on start, attribute or memo change, close); null leaves it as it is.</summary>
    public VisibilityRecord? Visibility { get; init; }

    /// <summary>Removes the run entirely: history, state, tasks, visibility row, and the workflow id's current-run entry if it is this run.</summary>
    public bool DeletesRun { get; init; }
}

/// <summary>A contiguous batch of history events, encoded.</summary>
public sealed record HistoryBatch(long FirstEventId, long LastEventId, byte[] Data);

/// <summary>The natural key of a task: one per run, kind, event and attempt.</summary>
public readonly record struct TaskKey(string RunId, int Kind, long EventId, int Attempt);

/// <summary>
/// A durable task (transfer or timer) written in the same transaction as the state that created it and
/// processed after commit; reloaded on start.
/// </summary>
public sealed record TaskRecord(
    int ShardId,
    string NamespaceId,
    string WorkflowId,
    string RunId,
    int Kind,
    long EventId,
    int Attempt,
    DateTime VisibleTime,
    string? TaskQueue)
{
    public TaskKey Key => new(RunId, Kind, EventId, Attempt);
}

/// <summary>A run as stored: its workflow id, version, status and encoded mutable state.</summary>
public sealed record ExecutionRecord(string NamespaceId, string WorkflowId, string RunId, long Version, int Status, byte[] State);

/// <summary>A namespace as stored; <see cref="Data"/> is the encoded configuration.</summary>
public sealed record NamespaceRecord(string Id, string Name, string Account, byte[] Data);
