namespace Bastion.Storage;

/// <summary>
/// One storage backend (SQLite, PostgreSQL): its stores, split by concern, and the one way to write —
/// <see cref="CommitAsync"/> of a typed batch. A provider stores encoded bytes and runs its dialect's SQL; the logic
/// (encryption, blind indexes, the audit chain's sealing, task processing) stays above it.
/// </summary>
public interface IStorageProvider : IAsyncDisposable
{
    /// <summary>The dialect's name, as GetClusterInfo reports it ("sqlite", "postgres").</summary>
    string Name { get; }

    /// <summary>Creates or migrates the schema; returns what was fixed at cluster creation.</summary>
    Task<ClusterMetadata> MigrateAsync(int shardCountForNewCluster, CancellationToken cancellationToken);

    IShardStore Shards { get; }

    IMembershipStore Membership { get; }

    IExecutionStore Executions { get; }

    ITaskStore Tasks { get; }

    IVisibilityStore Visibility { get; }

    IMetadataStore Metadata { get; }

    IScheduleStore Schedules { get; }

    IBatchStore Batches { get; }

    IAuditStore Audit { get; }

    IRecordStore Records { get; }

    ISignInStore SignIn { get; }

    IUiSessionStore Sessions { get; }

    INexusEndpointStore NexusEndpoints { get; }

    IWorkerDeploymentStore WorkerDeployments { get; }

    ITaskQueueConfigStore TaskQueueConfigs { get; }

    INamespacePurgeStore NamespacePurges { get; }

    /// <summary>
    /// Applies a batch in one transaction, all or nothing: when any transition is rejected (a run or schedule changed
    /// under its writer, a run exists, a shard moved on) nothing is written and the result names each rejected one,
    /// so the caller can fail those and commit the rest again. Audit records are sealed after the chain's head as it
    /// is inside the transaction. Other failures (I/O, a lost database) throw.
    /// </summary>
    Task<CommitResult> CommitAsync(CommitBatch batch, CancellationToken cancellationToken);
}

/// <summary>What is fixed when a cluster is created: its id and its shard count.</summary>
public sealed record ClusterMetadata(string ClusterId, int ShardCount);

/// <summary>A write was rejected because the run changed under the writer or the shard moved: nothing was written.</summary>
public class ConditionFailedException(string message) : Exception(message);
