namespace Bastion.Storage;

/// <summary>
/// The purge of deleted namespaces' data (Temporal deletes a deleted namespace's executions in the background). The
/// deletion itself is durable: the transition that removes a namespace record (<see cref="NamespaceWrite.Deletes"/>)
/// records a purge in the same transaction, so a crash at any point leaves either the namespace or its purge. The
/// purger then removes the namespace's rows in bounded steps, each a short transaction of its own, and finally the purge.
/// </summary>
public interface INamespacePurgeStore
{
    /// <summary>The purges not yet finished, oldest deletion first.</summary>
    Task<IReadOnlyList<NamespacePurgeRecord>> ListNamespacePurgesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes about <paramref name="limit"/> rows of the namespace in one transaction (it stops once the count reaches
    /// the limit; one run's tasks may carry it past) — runs first (a run's mutable
    /// state with its tasks, so a cached copy's next write is refused by its version), then current-run pointers,
    /// visibility rows, history, schedules, batch jobs, worker deployments and task queue configurations — and adds
    /// the count to the purge's progress. Fenced by <paramref name="fence"/> (the owner's range id of the shard the
    /// purger belongs to): a moved range throws <see cref="ShardOwnershipLostException"/> and deletes nothing.
    /// Returns how many rows went; 0 when nothing of the namespace is left.
    /// </summary>
    Task<int> PurgeNamespaceStepAsync(string namespaceId, int limit, (int ShardId, long RangeId) fence, CancellationToken cancellationToken);

    /// <summary>Removes the purge record, once the namespace's rows are gone; false when there was none.</summary>
    Task<bool> FinishNamespacePurgeAsync(string namespaceId, CancellationToken cancellationToken);

    /// <summary>How many rows the namespace still has across the tables a purge empties (tests and diagnostics).</summary>
    Task<long> CountNamespaceRowsAsync(string namespaceId, CancellationToken cancellationToken);
}

/// <summary>A deleted namespace whose rows are being purged: its id, the name and account it had, when it was deleted, rows purged so far.</summary>
public sealed record NamespacePurgeRecord(string NamespaceId, string Name, string Account, DateTime DeletedTime, long Purged);
