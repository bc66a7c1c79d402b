namespace Bastion.Storage;

/// <summary>A provider's audit store as readers see it: records decoded (<see cref="AuditRecordCodec"/>).</summary>
public sealed class DecodedAuditStore(IAuditStore stored, AuditRecordCodec codec) : IAuditStore
{
    public async Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken) =>
        [.. (await stored.ReadAuditAsync(query, cancellationToken).ConfigureAwait(false)).Select(codec.Decode)];

    public async Task<IReadOnlyList<StoredAuditRecord>> ReadAuditEmittedAtAsync(string account, DateTime emitTime, int limit, CancellationToken cancellationToken) =>
        [.. (await stored.ReadAuditEmittedAtAsync(account, emitTime, limit, cancellationToken).ConfigureAwait(false)).Select(codec.Decode)];

    public Task<IReadOnlyList<AuditChainHead>> ListAuditChainsAsync(CancellationToken cancellationToken) => stored.ListAuditChainsAsync(cancellationToken);

    public Task<int> DeleteAuditBeforeAsync(string chain, DateTime cutoff, int max, CancellationToken cancellationToken) =>
        stored.DeleteAuditBeforeAsync(chain, cutoff, max, cancellationToken);

    public Task<AuditPosition> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken) => stored.ReadAuditCursorAsync(sink, cancellationToken);

    public Task WriteAuditCursorAsync(string sink, AuditPosition position, CancellationToken cancellationToken) =>
        stored.WriteAuditCursorAsync(sink, position, cancellationToken);
}
