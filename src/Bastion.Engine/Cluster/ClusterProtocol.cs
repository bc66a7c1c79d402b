using Bastion.Storage;

namespace Bastion.Engine.Cluster;

/// <summary>
/// The versions of the cluster's internal messages this build reads and writes. A rolling upgrade runs nodes of two
/// builds side by side, so a build reads the messages of the one before it and, to a node that does not read its
/// newest form, writes the newest both read (<see cref="Common"/>); an answer goes back in its request's version.
/// Each node announces its range in its membership row, and a node whose range meets no live node's refuses to join.
/// Changing a message's form: raise <see cref="Newest"/>, read the older form by the version the message carries, and
/// keep <see cref="Oldest"/> one step back until the release after.
/// </summary>
internal static class ClusterProtocol
{
    /// <summary>
    /// 8: a node that changed the cluster's settings (namespaces, identities, Nexus endpoints, worker deployments, task
    /// queue configurations) asks the others to read them again before it answers (<c>Refresh</c>; 7: an answer that
    /// carries no audit record written also says so (<c>bastion-audit-not-written</c>), so the entry
    /// node can tell an owner that did not write a call's record from one that gave no answer; 6: a partition's offer
    /// to its root is held there for a poller; 5: a forwarded call and a task start carry the
    /// call's audit record; 4: a task's priority; 3: worker deployment version sub-queues; 2: task queue partitions).
    /// </summary>
    public const byte Newest = 8;

    /// <summary>The oldest version this build still reads and writes.</summary>
    public const byte Oldest = 3;

    /// <summary>This build's node as it announces itself.</summary>
    public static ClusterNode Announce(string nodeId, string address, DateTime startedAt) => new(nodeId, address, startedAt, Oldest, Newest);

    /// <summary>The newest version both nodes read and write; null when their ranges do not meet.</summary>
    public static byte? Common(ClusterNode self, ClusterNode other)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(other);
        var version = Math.Min(self.ProtocolNewest, other.ProtocolNewest);
        return version >= Math.Max(self.ProtocolOldest, other.ProtocolOldest) ? (byte)version : null;
    }
}
