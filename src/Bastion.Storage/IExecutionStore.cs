namespace Bastion.Storage;

/// <summary>
/// The persistence contract: simple per-dialect reads and writes of already-encoded records. Logic lives in the
/// engine; a dialect only stores and fences.
/// </summary>
public interface IExecutionStore : IVisibilityStore, IDisposable
{
    /// <summary>The dialect's name, as GetClusterInfo reports it.</summary>
    string Name { get; }

    /// <summary>Creates or migrates the schema; returns what was fixed at cluster creation.</summary>
    ClusterMetadata Initialize(int shardCountForNewCluster);

    /// <summary>Takes ownership of a shard by advancing its fencing token; returns the new token.</summary>
    long AcquireShard(int shardId);

    /// <summary>
    /// Commits many transitions in one transaction (group commit). A transition is one or more writes (a run
    /// that continues as new writes two) that succeed or fail together, and independently of the other
    /// transitions: the result holds null for a committed transition, or the reason it was rejected.
    /// </summary>
    IReadOnlyList<Exception?> Commit(IReadOnlyList<IReadOnlyList<ExecutionWrite>> transitions);

    /// <summary>The current run id of a workflow id, or null.</summary>
    string? GetCurrentRunId(string namespaceId, string workflowId);

    ExecutionRecord? GetExecution(string namespaceId, string runId);

    /// <summary>History batches of a run holding events with ids ≥ <paramref name="fromEventId"/>, in order.</summary>
    IReadOnlyList<HistoryBatch> ReadHistory(string namespaceId, string runId, long fromEventId, int maxBatches);

    IReadOnlyList<TaskRecord> LoadTasks(int shardId);

    /// <summary>Closed runs that have no task of <paramref name="taskKind"/> (runs closed before retention timers existed).</summary>
    IReadOnlyList<ExecutionRecord> ClosedRunsWithoutTask(int taskKind);

    IReadOnlyList<NamespaceRecord> ListNamespaces();

    void UpsertNamespace(NamespaceRecord record);

    /// <summary>Removes a namespace's record (its runs stay unreachable: nothing resolves the id any more).</summary>
    void DeleteNamespace(string id);

    /// <summary>A cluster-wide setting fixed at creation (e.g. whether records are encrypted): stored if absent, then read.</summary>
    string EnsureClusterSetting(string key, string valueForNew);

    /// <summary>Every namespace key, wrapped (encryption at rest).</summary>
    IReadOnlyList<Encryption.DataKeyRecord> ListDataKeys();

    /// <summary>Adds a key unless that namespace and version exist; true when added.</summary>
    bool AddDataKey(Encryption.DataKeyRecord key);

    /// <summary>Marks a key retired and erases its wrapped material.</summary>
    void RetireDataKey(string namespaceId, int version);

    /// <summary>
    /// Encoded records of one kind (<see cref="StoredRecord.Table"/>: the tables of <see cref="RecordIdentities"/>)
    /// of a namespace after a cursor, in a stable order: what re-encryption after a key rotation walks.
    /// </summary>
    IReadOnlyList<StoredRecord> ScanRecords(string table, string namespaceId, long afterPosition, int limit);

    /// <summary>Replaces a record's encoding if it is still <see cref="StoredRecord.Value"/>; false when it changed or went away.</summary>
    bool ReplaceRecord(StoredRecord record, byte[] newValue);
}

/// <summary>
/// One encoded value as stored: its identity key (as <see cref="RecordIdentities"/> builds it), a dialect cursor,
/// and its bytes (for a text column, the UTF-8 of the text).
/// </summary>
public sealed record StoredRecord(string Table, string NamespaceId, string Key, long Position, byte[] Value);

/// <summary>What is fixed when a cluster is created: its id and its shard count.</summary>
public sealed record ClusterMetadata(string ClusterId, int ShardCount);

/// <summary>A write was rejected because the run changed under the writer or the shard moved: nothing was written.</summary>
public sealed class ConditionFailedException(string message) : Exception(message);
