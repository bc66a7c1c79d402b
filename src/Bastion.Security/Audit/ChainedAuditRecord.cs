using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>An <see cref="AuditRecord"/> waiting for its place in the chain: sealed as its canonical JSON and that JSON's hash.</summary>
internal sealed class ChainedAuditRecord(AuditRecord record) : PendingAudit
{
    public AuditRecord Record { get; } = record;

    public override StoredAuditRecord Seal(long sequence, byte[] previousHash)
    {
        var data = AuditJson.Serialize(Record, sequence, previousHash);
        return new StoredAuditRecord(sequence, Record.EmitTime, Record.Account, Record.NamespaceId, data, AuditChain.Hash(data));
    }
}
