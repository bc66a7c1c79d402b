using Bastion.Engine.Errors;
using Bastion.Storage;

namespace Bastion.Engine.History;

/// <summary>
/// The shards this process owns and their fencing tokens (range ids). A shard is lost when a commit is fenced off (another
/// server on the same database took it): from then on this process serves nothing of it. One process owns every shard;
/// losing one means a second server was started on the database, and it is not taken back.
/// </summary>
internal sealed class ShardOwnership
{
    private readonly long[] _ranges;
    private readonly int[] _lost;

    private ShardOwnership(long[] ranges)
    {
        _ranges = ranges;
        _lost = new int[ranges.Length];
    }

    public static ShardOwnership None { get; } = new([]);

    public int Count => _ranges.Length;

    /// <summary>Takes every shard (the range id of each moves on, fencing off any earlier owner).</summary>
    public static async Task<ShardOwnership> AcquireAsync(IShardStore store, int count, CancellationToken cancellationToken)
    {
        var ranges = new long[count];
        for (var shard = 0; shard < count; shard++)
        {
            ranges[shard] = await store.AcquireShardAsync(shard, cancellationToken).ConfigureAwait(false);
        }

        return new ShardOwnership(ranges);
    }

    public long RangeOf(int shard) => _ranges[shard];

    public bool Owns(int shard) => Volatile.Read(ref _lost[shard]) == 0;

    /// <summary>Marks the shard lost; true the first time.</summary>
    public bool Lose(int shard) => Interlocked.Exchange(ref _lost[shard], 1) == 0;

    /// <summary>UNAVAILABLE (the SDKs retry, and reach the shard's owner through a load balancer) unless the shard is owned.</summary>
    public void EnsureOwned(int shard)
    {
        if (!Owns(shard))
        {
            throw Unavailable(shard);
        }
    }

    public static ServiceException Unavailable(int shard) =>
        new(ErrorKind.Unavailable, $"Shard {shard} is served by another Bastion server on this database now; this server no longer serves it.");
}
