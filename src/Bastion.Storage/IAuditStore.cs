namespace Bastion.Storage;

/// <summary>
/// Where audit records are kept: an append-only, hash-chained log ordered by sequence number. Records are appended by
/// <see cref="IStorageProvider.CommitAsync"/>, chained after the head as it is inside that transaction (so several
/// writers, such as a server and a CLI on the same database, extend one chain); sealed by <see cref="PendingAudit.Seal"/>.
/// </summary>
public interface IAuditStore
{
    /// <summary>The last record's sequence number and hash, or the retention anchor when the log is empty.</summary>
    Task<AuditAnchor> ReadAuditHeadAsync(CancellationToken cancellationToken);

    /// <summary>Where the chain starts: the last record removed by retention (sequence 0 and an empty hash before any).</summary>
    Task<AuditAnchor> ReadAuditAnchorAsync(CancellationToken cancellationToken);

    /// <summary>Records matching <paramref name="query"/>, in sequence order.</summary>
    Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Removes up to <paramref name="max"/> of the oldest records emitted before <paramref name="cutoff"/>, moving the
    /// anchor to the last one removed so the remaining chain still verifies. Returns how many were removed.
    /// </summary>
    Task<int> DeleteAuditBeforeAsync(DateTime cutoff, int max, CancellationToken cancellationToken);

    /// <summary>The last sequence number an export sink has delivered (0 when none).</summary>
    Task<long> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken);

    Task WriteAuditCursorAsync(string sink, long sequence, CancellationToken cancellationToken);
}
