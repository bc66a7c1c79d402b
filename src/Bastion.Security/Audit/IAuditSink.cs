using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// Where audit records go. A write completes when the record is durable (for the durable log: committed to disk);
/// a write that fails must fail the call it records.
/// </summary>
public interface IAuditSink
{
    ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// The record of a call about to run, if this sink can write it in the same transaction as the first transition
    /// the call commits (<see cref="PendingAudit.Ambient"/>); null if it cannot, and the record is written after the call.
    /// </summary>
    PendingAudit? Prepare(AuditRecord record) => null;

    /// <summary>
    /// Whether a prepared record that is in doubt (<see cref="PendingAudit.InDoubt"/>: another cluster node it was sent
    /// to gave no answer) was written there with a transition; false when it was not, or cannot be known.
    /// </summary>
    ValueTask<bool> WrittenElsewhereAsync(PendingAudit record, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    /// <summary>A prepared record was written with the call's transition.</summary>
    void Landed(PendingAudit record)
    {
    }
}
