namespace Bastion.Storage;

/// <summary>
/// The audit log's codec as a provider holds it until the codec moves above the providers (issue 14 step 3): plain by
/// default, else set by <c>UseAuditCodec</c>, possibly made only when first used (a CLI command may never need the
/// master key). The hash chain stays over the plain canonical JSON, so re-encryption leaves it intact.
/// </summary>
public sealed class AuditCodecSlot
{
    private Lazy<IRecordCodec> _codec = new(new PlainRecordCodec());
    private bool _keyReady;

    public void Use(IRecordCodec codec) => _codec = new(codec ?? throw new ArgumentNullException(nameof(codec)));

    public void Use(Func<IRecordCodec> codec) => _codec = new(codec ?? throw new ArgumentNullException(nameof(codec)));

    /// <summary>
    /// Creating the audit log's key is a write of its own: a commit with audit records calls this before it takes the
    /// writer, so the encoding inside its transaction never writes.
    /// </summary>
    public void EnsureKey()
    {
        if (!_keyReady)
        {
            _codec.Value.Encode(RecordIdentities.AuditRecord(0), []);
            _keyReady = true;
        }
    }

    public byte[] Encode(long sequence, byte[] data) => _codec.Value.Encode(RecordIdentities.AuditRecord(sequence), data);

    /// <summary>The plain record; bytes that do not decode (altered) are returned as stored, so verify names the record as edited.</summary>
    public byte[] Decode(long sequence, byte[] stored)
    {
        try
        {
            return _codec.Value.Decode(RecordIdentities.AuditRecord(sequence), stored);
        }
        catch (InvalidDataException)
        {
            return stored;
        }
    }
}
