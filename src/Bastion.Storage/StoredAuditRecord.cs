namespace Bastion.Storage;

/// <summary>
/// One audit record as stored: <see cref="Data"/> is its canonical serialization (which names its chain, its sequence
/// number in that chain and its predecessor's hash), <see cref="Hash"/> the SHA-256 of <see cref="Data"/>. The other
/// columns are copies of fields in <see cref="Data"/>, kept for queries; <see cref="CommitTime"/> is stamped by the
/// provider when the record is written (non-decreasing within a chain), the order readers merge chains in.
/// </summary>
public sealed record StoredAuditRecord(string Chain, long Sequence, DateTime EmitTime, string? Account, string? NamespaceId, byte[] Data, byte[] Hash)
{
    public DateTime CommitTime { get; init; }
}

/// <summary>A point in a chain: a sequence number and the hash of the record there.</summary>
public sealed record AuditAnchor(long Sequence, byte[] Hash);

/// <summary>A chain as stored: its head (last record appended) and its anchor (last record removed by retention; sequence 0 before any).</summary>
public sealed record AuditChainHead(string Chain, AuditAnchor Head, AuditAnchor Anchor);

/// <summary>
/// A read of one audit chain: records after <see cref="AfterSequence"/>, emitted in [<see cref="From"/>, <see cref="To"/>),
/// of one account and optionally one namespace (null: any), at most <see cref="Limit"/>, in sequence order.
/// </summary>
public sealed record AuditQuery(string Chain, long AfterSequence, int Limit)
{
    public DateTime? From { get; init; }

    public DateTime? To { get; init; }

    public string? Account { get; init; }

    public string? NamespaceId { get; init; }
}
