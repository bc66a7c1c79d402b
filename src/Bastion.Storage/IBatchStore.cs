namespace Bastion.Storage;

/// <summary>
/// Batch operation jobs (docs/batch-operations.md): one row per job, keyed by namespace and the blind index of its
/// job id. The request (query, reason, signal input…) is customer data and arrives encoded; state, times, counts
/// and the cursor are the server's own and stay plain.
/// </summary>
public interface IBatchStore
{
    /// <summary>Adds a job; false when the namespace already has one with that key.</summary>
    Task<bool> InsertBatchAsync(BatchRecord record, CancellationToken cancellationToken);

    Task<BatchRecord?> GetBatchAsync(string namespaceId, string jobKey, CancellationToken cancellationToken);

    /// <summary>A namespace's jobs, newest first, after a cursor (start time ticks, job key) when given.</summary>
    Task<IReadOnlyList<BatchRecord>> ListBatchesAsync(string namespaceId, int limit, (long StartTicks, string JobKey)? after, CancellationToken cancellationToken);

    /// <summary>
    /// The jobs still running on one shard (its owner resumes them), and with <paramref name="withUnassigned"/> those
    /// started before jobs had shards (the shard-0 owner's).
    /// </summary>
    Task<IReadOnlyList<BatchRecord>> RunningBatchesAsync(int shardId, bool withUnassigned, CancellationToken cancellationToken);

    Task<int> CountRunningBatchesAsync(string namespaceId, CancellationToken cancellationToken);

    /// <summary>Removes a namespace's jobs that ended before <paramref name="closedBefore"/>; returns how many.</summary>
    Task<int> DeleteClosedBatchesAsync(string namespaceId, DateTime closedBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Records progress (and, when <paramref name="state"/> is no longer running, the end) of a job that is still
    /// running; false when it is not (stopped meanwhile), and then nothing is written.
    /// </summary>
    Task<bool> UpdateRunningBatchAsync(
        string namespaceId, string jobKey, int state, DateTime? closeTime, long total, long completed, long failed, string? cursor, CancellationToken cancellationToken);
}

/// <summary>A batch job as stored. <see cref="Request"/> is the encoded StartBatchOperationRequest.</summary>
public sealed record BatchRecord(
    string NamespaceId,
    string JobKey,
    int State,
    DateTime StartTime,
    DateTime? CloseTime,
    long Total,
    long Completed,
    long Failed,
    string? Cursor,
    byte[] Request)
{
    /// <summary>The shard whose owner runs the job (null: a job from before jobs had shards, run by the shard-0 owner).</summary>
    public int? ShardId { get; init; }
}
