using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// A call's audit record sent with the call to the cluster node that runs it, so that it rides the transition the
/// call commits there, as it would on one node (<see cref="PendingAudit"/>): without it, every call the entry node
/// forwards would have its record written in a commit of its own on the entry node. The owner answers whether it wrote
/// the record; if it did not (the call committed nothing there, or failed first), the entry node writes it as before.
/// If no answer came (the node died, the connection broke), the record is in doubt (<see cref="PendingAudit.InDoubt"/>):
/// the entry node looks for it in the log before it writes it. Either way it is written once.
/// </summary>
public sealed class AuditHandOff
{
    private readonly PendingAudit _pending;

    private AuditHandOff(PendingAudit pending, byte[] record)
    {
        _pending = pending;
        Record = record;
    }

    /// <summary>The record, in its canonical form (without its place in a chain, which the writing node gives it).</summary>
    public byte[] Record { get; }

    /// <summary>The record of the call on this flow, claimed for another node's commit; null when there is none to send.</summary>
    public static AuditHandOff? TakeAmbient() =>
        PendingAudit.Ambient is ChainedAuditRecord chained && chained.TryRideElsewhere()
            ? new AuditHandOff(chained, AuditJson.Serialize(chained.Record, string.Empty, 0, []))
            : null;

    /// <summary>The other node's answer: it wrote the record, it did not, or null: no answer came.</summary>
    public void Ended(bool? written) => _pending.RodeElsewhere(written);

    /// <summary>On the node that runs the call: the record to prepare with its audit sink.</summary>
    public static AuditRecord Read(byte[] record) => AuditJson.Parse(record).Record;
}
