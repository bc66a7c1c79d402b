namespace Bastion.Storage;

/// <summary>
/// Where audit records are kept: an append-only, hash-chained log ordered by sequence number. The chain is
/// extended inside each writing transaction, after the head as stored (so several writers, such as a server and a
/// CLI on the same file, extend one chain); records are sealed by <see cref="PendingAudit.Seal"/>.
/// </summary>
public interface IAuditStore
{
    /// <summary>
    /// <see cref="IExecutionStore.Commit"/> and audit records in one transaction, so one fsync covers both. After the
    /// transitions are applied, <paramref name="records"/> is given their outcomes (null: applied) and returns the
    /// records to append; the store seals them (<see cref="PendingAudit.Seal"/>) after the chain's head as it is in
    /// that transaction. Audit rows that cannot be written fail the whole transaction.
    /// </summary>
    IReadOnlyList<Exception?> CommitWithAudit(
        IReadOnlyList<IReadOnlyList<ExecutionWrite>> transitions, Func<IReadOnlyList<Exception?>, IReadOnlyList<PendingAudit>> records);

    /// <summary>The last record's sequence number and hash, or the retention anchor when the log is empty.</summary>
    AuditAnchor ReadAuditHead();

    /// <summary>Where the chain starts: the last record removed by retention (sequence 0 and an empty hash before any).</summary>
    AuditAnchor ReadAuditAnchor();

    /// <summary>Records matching <paramref name="query"/>, in sequence order.</summary>
    IReadOnlyList<StoredAuditRecord> ReadAudit(AuditQuery query);

    /// <summary>
    /// Removes up to <paramref name="max"/> of the oldest records emitted before <paramref name="cutoff"/>, moving the
    /// anchor to the last one removed so the remaining chain still verifies. Returns how many were removed.
    /// </summary>
    int DeleteAuditBefore(DateTime cutoff, int max);

    /// <summary>The last sequence number an export sink has delivered (0 when none).</summary>
    long ReadAuditCursor(string sink);

    void WriteAuditCursor(string sink, long sequence);
}
