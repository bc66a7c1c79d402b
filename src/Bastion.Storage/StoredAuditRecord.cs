namespace Bastion.Storage;

/// <summary>
/// One audit record as stored: <see cref="Data"/> is its canonical serialization (which names its sequence number and
/// its predecessor's hash), <see cref="Hash"/> the SHA-256 of <see cref="Data"/>. The other columns are copies of fields
/// in <see cref="Data"/>, kept for queries.
/// </summary>
public sealed record StoredAuditRecord(long Sequence, DateTime EmitTime, string? Account, string? NamespaceId, byte[] Data, byte[] Hash);

/// <summary>A point in the chain: a sequence number and the hash of the record there.</summary>
public sealed record AuditAnchor(long Sequence, byte[] Hash);

/// <summary>
/// A read of the audit log: records after <see cref="AfterSequence"/>, emitted in [<see cref="From"/>, <see cref="To"/>),
/// of one account and optionally one namespace (null: any), at most <see cref="Limit"/>.
/// </summary>
public sealed record AuditQuery(long AfterSequence, int Limit)
{
    public DateTime? From { get; init; }

    public DateTime? To { get; init; }

    public string? Account { get; init; }

    public string? NamespaceId { get; init; }
}
