namespace Bastion.Storage;

/// <summary>
/// Shard ownership: a shard's fencing token (range id), checked by every commit that writes the shard, and the lease
/// its owner keeps renewing so other servers can tell a live owner from a departed one.
/// </summary>
public interface IShardStore
{
    /// <summary>
    /// Takes ownership of a shard by advancing its range id (commits with an older one are refused from then on) and
    /// recording <paramref name="owner"/> with a lease until <paramref name="leaseUntil"/>. Always succeeds; the
    /// lease it replaced is in the result, so the caller can tell it took a shard from a live owner.
    /// </summary>
    Task<ShardLease> AcquireShardAsync(int shardId, string owner, DateTime leaseUntil, CancellationToken cancellationToken);

    /// <summary>
    /// Extends the lease while the range id is still <paramref name="lease"/>'s; <see cref="ShardOwnershipLostException"/>
    /// (nothing changed) when another owner acquired the shard since.
    /// </summary>
    Task<ShardLease> RenewShardAsync(ShardLease lease, DateTime leaseUntil, CancellationToken cancellationToken);

    /// <summary>Ends the lease (the range id stays) if it is still this owner's, so the next owner need not wait for it to run out.</summary>
    Task ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken);

    /// <summary>Every shard row: its range id, owner and lease.</summary>
    Task<IReadOnlyList<ShardRecord>> ReadShardsAsync(CancellationToken cancellationToken);
}

/// <summary>A shard as stored: its range id, who owns it (null when released or never owned) and until when.</summary>
public sealed record ShardRecord(int ShardId, long RangeId, string? Owner, DateTime LeaseUntil);

/// <summary>
/// An owner's hold on a shard: the range id its commits are fenced with and the lease's end. <see cref="Replaced"/> is
/// the row as it was before the acquire (null for a shard never owned).
/// </summary>
public sealed record ShardLease(int ShardId, long RangeId, string Owner, DateTime LeaseUntil)
{
    public ShardRecord? Replaced { get; init; }
}
