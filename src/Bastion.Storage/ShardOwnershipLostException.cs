namespace Bastion.Storage;

/// <summary>
/// A commit was fenced off: the shard's range id moved on (another server took the shard), so this writer no longer
/// owns it. Nothing of the transition was written.
/// </summary>
public sealed class ShardOwnershipLostException(int shardId, long rangeId)
    : ConditionFailedException($"Shard {shardId} is owned by another server (range id {rangeId} is stale).")
{
    public int ShardId { get; } = shardId;
}
