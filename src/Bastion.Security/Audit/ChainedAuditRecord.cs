using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>An <see cref="AuditRecord"/> waiting for its place in the chain: sealed as its canonical JSON and that JSON's hash.</summary>
internal sealed class ChainedAuditRecord(AuditRecord record) : PendingAudit
{
    public AuditRecord Record { get; } = record;

    public override StoredAuditRecord Seal(string chain, long sequence, byte[] previousHash)
    {
        var data = AuditJson.Serialize(Record, chain, sequence, previousHash);
        return new StoredAuditRecord(chain, sequence, Record.EmitTime, Record.Account, Record.NamespaceId, data, AuditChain.Hash(data));
    }
}
