using Bastion.Storage;

namespace Bastion.Tests.Storage;

/// <summary>Takes a shard as a test owner with a minute's lease, for tests that only need its range id.</summary>
internal static class ShardStoreExtensions
{
    public static async Task<long> AcquireRangeAsync(this IShardStore store, int shardId) =>
        (await store.AcquireShardAsync(shardId, "test-owner", DateTime.UtcNow.AddMinutes(1), CancellationToken.None)).RangeId;
}
