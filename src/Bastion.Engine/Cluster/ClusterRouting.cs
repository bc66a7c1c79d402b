using Bastion.Engine.Matching;

namespace Bastion.Engine.Cluster;

/// <summary>
/// Which node serves what, as this node sees the cluster now: a shard is served here while this node holds it, else by
/// the node rendezvous hashing assigns it to among the live nodes; a task queue by its own assignment (its pollers
/// wait there and its tasks are matched there, whichever shards they come from). A standalone server serves
/// everything itself.
/// </summary>
internal sealed class ClusterRouting(ClusterMembership membership, Func<int, bool> holdsShard, IClusterTransport? transport)
{
    public static ClusterRouting Standalone(ClusterMembership membership) => new(membership, _ => true, null);

    public string Self => membership.Self.NodeId;

    /// <summary>The transport to the other nodes; null for a standalone server.</summary>
    public IClusterTransport? Transport => transport;

    public ClusterMembership Membership => membership;

    public string OwnerOfShard(int shard) =>
        transport is null || holdsShard(shard) ? Self : Rendezvous.OwnerOf(Rendezvous.ShardKey(shard), LiveIds()) ?? Self;

    public string OwnerOfQueue(QueueKey queue) =>
        transport is null ? Self : Rendezvous.OwnerOf(QueueKeyText(queue), LiveIds()) ?? Self;

    public bool IsSelf(string node) => node == Self;

    private List<string> LiveIds() => [.. membership.Live.Select(n => n.NodeId)];

    private static string QueueKeyText(QueueKey queue) => $"queue/{queue.NamespaceId}/{(queue.Type == TaskCategory.Workflow ? "w" : "a")}/{queue.Name}";
}
