namespace Bastion.Storage;

/// <summary>
/// The nodes of a cluster: every server on the database keeps a row with the address other nodes reach it at and a
/// lease it renews every few seconds. The live set is the rows whose lease has not run out; the database is the only
/// coordination service (no gossip, no external registry).
/// </summary>
public interface IMembershipStore
{
    /// <summary>Writes <paramref name="node"/>'s row (inserted the first time, replaced after) with a lease until <paramref name="leaseUntil"/>.</summary>
    Task HeartbeatAsync(ClusterNode node, DateTime leaseUntil, CancellationToken cancellationToken);

    /// <summary>Removes the node's row (a graceful stop), so others need not wait for its lease to run out.</summary>
    Task LeaveAsync(string nodeId, CancellationToken cancellationToken);

    /// <summary>Every row, live or not, ordered by node id.</summary>
    Task<IReadOnlyList<ClusterNodeRecord>> ReadNodesAsync(CancellationToken cancellationToken);
}

/// <summary>A node as it announces itself: its name, the internal address other nodes call it at, and when it started.</summary>
public sealed record ClusterNode(string NodeId, string Address, DateTime StartedAt);

/// <summary>A node's row: the node and the end of its lease.</summary>
public sealed record ClusterNodeRecord(ClusterNode Node, DateTime LeaseUntil)
{
    public bool IsLiveAt(DateTime now) => LeaseUntil > now;
}
