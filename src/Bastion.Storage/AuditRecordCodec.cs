namespace Bastion.Storage;

/// <summary>
/// Seals audit records into the chain and encodes them for the store, and decodes what the store returns: the audit
/// log's encryption at rest, written once above the providers (a provider stores and returns bytes). The hash chain
/// is over the plain canonical record, so re-encryption after a key rotation leaves it intact.
/// </summary>
public sealed class AuditRecordCodec
{
    private readonly Lazy<IRecordCodec> _codec;
    private volatile bool _ready;

    /// <param name="codec">Made on first use: a tool whose command never touches the audit log needs no master key.</param>
    public AuditRecordCodec(Func<IRecordCodec> codec) => _codec = new(codec ?? throw new ArgumentNullException(nameof(codec)));

    public AuditRecordCodec(IRecordCodec codec)
        : this(() => codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
    }

    /// <summary>Records as written: plain (encryption at rest off, and tests).</summary>
    public static AuditRecordCodec Plain { get; } = new(new PlainRecordCodec());

    /// <summary>
    /// Makes the codec ready (the audit log's key exists) before a transaction begins: creating the key is a write of
    /// its own, which must not happen inside the transaction that seals the records.
    /// </summary>
    public void Prepare()
    {
        if (!_ready)
        {
            _codec.Value.Encode(RecordIdentities.AuditRecord(AuditChains.Legacy, 0), []);
            _ready = true;
        }
    }

    /// <summary>
    /// <paramref name="records"/> chained in <paramref name="chain"/> after <paramref name="head"/> (the head as it is
    /// inside the writing transaction), each encoded for the store; <see cref="StoredAuditRecord.Hash"/> is over the plain record.
    /// </summary>
    public IReadOnlyList<StoredAuditRecord> Seal(string chain, IReadOnlyList<PendingAudit> records, AuditAnchor head)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(head);
        var sealedRecords = new List<StoredAuditRecord>(records.Count);
        var last = head;
        foreach (var pending in records)
        {
            var record = pending.Seal(chain, last.Sequence + 1, last.Hash);
            last = new AuditAnchor(record.Sequence, record.Hash);
            sealedRecords.Add(record with { Data = _codec.Value.Encode(RecordIdentities.AuditRecord(chain, record.Sequence), record.Data) });
        }

        return sealedRecords;
    }

    /// <summary>
    /// The plain record. Bytes that do not decode (altered) are returned as stored, so the hash chain reports the
    /// record as edited instead of every reader failing on it.
    /// </summary>
    public StoredAuditRecord Decode(StoredAuditRecord stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        try
        {
            return stored with { Data = _codec.Value.Decode(RecordIdentities.AuditRecord(stored.Chain, stored.Sequence), stored.Data) };
        }
        catch (InvalidDataException)
        {
            return stored;
        }
    }
}
