namespace Bastion.Storage;

/// <summary>Reads of workflow runs and their histories (writes go through <see cref="IStorageProvider.CommitAsync"/>).</summary>
public interface IExecutionStore
{
    /// <summary>The current run id of a workflow id (as stored: its blind index), or null.</summary>
    Task<string?> GetCurrentRunIdAsync(string namespaceId, string workflowId, CancellationToken cancellationToken);

    Task<ExecutionRecord?> GetExecutionAsync(string namespaceId, string runId, CancellationToken cancellationToken);

    /// <summary>History batches of a run holding events with ids ≥ <paramref name="fromEventId"/>, in order.</summary>
    Task<IReadOnlyList<HistoryBatch>> ReadHistoryAsync(string namespaceId, string runId, long fromEventId, int maxBatches, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> closed runs of a shard that have no task of <paramref name="taskKind"/> (runs closed
    /// before retention timers existed), in run id order after <paramref name="afterRunId"/>: a shard's owner pages
    /// through its own runs.
    /// </summary>
    Task<IReadOnlyList<ExecutionRecord>> ClosedRunsWithoutTaskAsync(int shardId, int taskKind, string? afterRunId, int limit, CancellationToken cancellationToken);
}
