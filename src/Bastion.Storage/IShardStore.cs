namespace Bastion.Storage;

/// <summary>Shard ownership: a shard's fencing token (range id), checked by every commit that writes the shard.</summary>
public interface IShardStore
{
    /// <summary>Takes ownership of a shard by advancing its range id; returns the new one. Commits with an older one are rejected.</summary>
    Task<long> AcquireShardAsync(int shardId, CancellationToken cancellationToken);
}
