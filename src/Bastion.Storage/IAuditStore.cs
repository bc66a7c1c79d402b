namespace Bastion.Storage;

/// <summary>
/// Where audit records are kept: append-only hash chains (<see cref="AuditChains"/>), each ordered by sequence number.
/// Records are appended by <see cref="IStorageProvider.CommitAsync"/>, chained after their chain's head as it is inside
/// that transaction (so several writers, such as a server and a CLI on the same database, extend one chain).
/// </summary>
public interface IAuditStore
{
    /// <summary>Every chain with its head and anchor.</summary>
    Task<IReadOnlyList<AuditChainHead>> ListAuditChainsAsync(CancellationToken cancellationToken);

    /// <summary>Records of one chain matching <paramref name="query"/>, in sequence order.</summary>
    Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Records of any chain emitted at exactly <paramref name="emitTime"/> in <paramref name="account"/>'s name, at most
    /// <paramref name="limit"/>, in no given order: the few a record could be, to look for one by its contents (indexed).
    /// </summary>
    Task<IReadOnlyList<StoredAuditRecord>> ReadAuditEmittedAtAsync(string account, DateTime emitTime, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Removes up to <paramref name="max"/> of the oldest records of <paramref name="chain"/> emitted before
    /// <paramref name="cutoff"/>, moving the chain's anchor to the last one removed so what remains still verifies.
    /// Returns how many were removed.
    /// </summary>
    Task<int> DeleteAuditBeforeAsync(string chain, DateTime cutoff, int max, CancellationToken cancellationToken);

    /// <summary>The last sequence number of each chain an export sink has delivered (a chain absent: none).</summary>
    Task<AuditPosition> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken);

    /// <summary>Stores the sink's position in the chains <paramref name="position"/> names.</summary>
    Task WriteAuditCursorAsync(string sink, AuditPosition position, CancellationToken cancellationToken);
}
