using Bastion.Engine.Matching;

namespace Bastion.Engine.Cluster;

/// <summary>
/// Which node serves what, as this node sees the cluster now: a shard is served here while this node holds it, else by
/// the node rendezvous hashing assigns it to among the live nodes; a task queue partition by its own assignment (its
/// pollers wait there and its tasks are matched there, whichever shards they come from). A standalone server serves
/// everything itself, with one partition per task queue.
/// </summary>
internal sealed class ClusterRouting(ClusterMembership membership, Func<int, bool> holdsShard, IClusterTransport? transport, int partitions = 1)
{
    public static ClusterRouting Standalone(ClusterMembership membership) => new(membership, _ => true, null);

    public string Self => membership.Self.NodeId;

    /// <summary>The transport to the other nodes; null for a standalone server.</summary>
    public IClusterTransport? Transport => transport;

    public ClusterMembership Membership => membership;

    /// <summary>Partitions of a normal task queue: one for a standalone server.</summary>
    public int Partitions => transport is null ? 1 : Math.Max(1, partitions);

    public string OwnerOfShard(int shard) =>
        transport is null || holdsShard(shard) ? Self : Rendezvous.OwnerOf(Rendezvous.ShardKey(shard), LiveIds()) ?? Self;

    public string OwnerOfQueue(QueueKey queue) =>
        transport is null ? Self : Rendezvous.OwnerOf(QueueKeyText(queue), LiveIds()) ?? Self;

    /// <summary>
    /// The partition of a normal queue a task, or a poll that reached its node, goes to: one this node owns when there is
    /// any (no hop), else any (spread evenly). A queue of one partition is its root.
    /// </summary>
    public QueueKey Place(QueueKey queue)
    {
        var count = Partitions;
        if (count == 1)
        {
            return queue.Root;
        }

        var live = LiveIds();
        Span<int> mine = stackalloc int[count];
        var owned = 0;
        for (var p = 0; p < count; p++)
        {
            if (Rendezvous.OwnerOf(QueueKeyText(queue with { Partition = p }), live) == Self)
            {
                mine[owned++] = p;
            }
        }

        return queue with { Partition = owned > 0 ? mine[Random.Shared.Next(owned)] : Random.Shared.Next(count) };
    }

    /// <summary>
    /// Any partition of a normal queue, evenly: where a client's poll is sent. Polls must reach every partition — a
    /// worker polling one node only would otherwise never poll the partitions other nodes hold, whose tasks would wait
    /// for the root — so polls are spread as Temporal spreads them; the node a poll reaches then picks among its own.
    /// </summary>
    public QueueKey PlaceAnywhere(QueueKey queue) => queue with { Partition = Partitions == 1 ? 0 : Random.Shared.Next(Partitions) };

    public bool IsSelf(string node) => node == Self;

    /// <summary>
    /// How long a poll may wait on this node for a queue <paramref name="owner"/> serves: all of <paramref name="wait"/>
    /// when that is this node, else one heartbeat at most. Such a poll was sent here on an older view of the cluster than
    /// this node's; it would get nothing here (the queue's tasks go to its owner), and its worker's next poll, sent once
    /// the sender has caught up, reaches the owner.
    /// </summary>
    public TimeSpan PollWaitHere(string owner, TimeSpan wait) =>
        IsSelf(owner) || wait <= ClusterMembership.HeartbeatEvery ? wait : ClusterMembership.HeartbeatEvery;

    /// <summary>Whether <paramref name="node"/> is one of the live nodes now.</summary>
    public bool IsLive(string node) => membership.Live.Any(n => n.NodeId == node);

    /// <summary>
    /// The node that serves a task queue's Nexus tasks: its pollers wait there and every request for it is matched
    /// there. One owner per (namespace, task queue), placed by rendezvous hashing like a partition but by a key of its
    /// own (kind <c>n</c>), so a queue's Nexus half and its workflow root need not share a node.
    /// </summary>
    public string OwnerOfNexusQueue(string namespaceId, string taskQueue) =>
        transport is null ? Self : Rendezvous.OwnerOf(NexusQueueKey(namespaceId, taskQueue), LiveIds()) ?? Self;

    /// <summary>The key a task queue's Nexus half is placed by.</summary>
    public static string NexusQueueKey(string namespaceId, string taskQueue) => $"queue/{namespaceId}/n/{taskQueue}";

    /// <summary>Nodes that own a partition of <paramref name="queue"/> now, this one included when it does.</summary>
    public IEnumerable<string> OwnersOfPartitions(QueueKey queue) =>
        Enumerable.Range(0, Partitions).Select(p => OwnerOfQueue(queue with { Partition = p })).Distinct(StringComparer.Ordinal);

    private List<string> LiveIds() => [.. membership.Live.Select(n => n.NodeId)];

    /// <summary>The key a partition is placed by; the root's is the queue's own, as before there were partitions.</summary>
    private static string QueueKeyText(QueueKey queue) =>
        $"queue/{queue.NamespaceId}/{(queue.Type == TaskCategory.Workflow ? "w" : "a")}/{queue.Name}{(queue.IsRoot ? string.Empty : "/" + queue.Partition)}";
}
