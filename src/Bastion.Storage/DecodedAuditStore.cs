namespace Bastion.Storage;

/// <summary>A provider's audit store as readers see it: records decoded (<see cref="AuditRecordCodec"/>).</summary>
public sealed class DecodedAuditStore(IAuditStore stored, AuditRecordCodec codec) : IAuditStore
{
    public async Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken) =>
        [.. (await stored.ReadAuditAsync(query, cancellationToken).ConfigureAwait(false)).Select(codec.Decode)];

    public Task<AuditAnchor> ReadAuditHeadAsync(CancellationToken cancellationToken) => stored.ReadAuditHeadAsync(cancellationToken);

    public Task<AuditAnchor> ReadAuditAnchorAsync(CancellationToken cancellationToken) => stored.ReadAuditAnchorAsync(cancellationToken);

    public Task<int> DeleteAuditBeforeAsync(DateTime cutoff, int max, CancellationToken cancellationToken) =>
        stored.DeleteAuditBeforeAsync(cutoff, max, cancellationToken);

    public Task<long> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken) => stored.ReadAuditCursorAsync(sink, cancellationToken);

    public Task WriteAuditCursorAsync(string sink, long sequence, CancellationToken cancellationToken) =>
        stored.WriteAuditCursorAsync(sink, sequence, cancellationToken);
}
