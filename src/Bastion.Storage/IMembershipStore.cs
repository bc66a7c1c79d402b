namespace Bastion.Storage;

/// <summary>
/// The nodes of a cluster: every server on the database keeps a row with the address other nodes reach it at and a
/// lease it renews every few seconds. The live set is the rows whose lease has not run out; the database is the only
/// coordination service (no gossip, no external registry).
/// </summary>
public interface IMembershipStore
{
    /// <summary>
    /// Writes <paramref name="node"/>'s row (inserted the first time, replaced after) with a lease until
    /// <paramref name="leaseUntil"/>; returns the database's clock as it wrote the row, so a node can tell how far its own
    /// clock is from the one every node's leases are read against — null when the database has no clock of its own (a
    /// SQLite file, on this machine).
    /// </summary>
    Task<DateTime?> HeartbeatAsync(ClusterNode node, DateTime leaseUntil, CancellationToken cancellationToken);

    /// <summary>Removes the node's row (a graceful stop), so others need not wait for its lease to run out.</summary>
    Task LeaveAsync(string nodeId, CancellationToken cancellationToken);

    /// <summary>Every row, live or not, ordered by node id.</summary>
    Task<IReadOnlyList<ClusterNodeRecord>> ReadNodesAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A node as it announces itself: its name, the internal address other nodes call it at, when it started, and the
/// versions of the cluster's internal messages it reads and writes (oldest to newest), so nodes of two versions can
/// serve side by side during a rolling upgrade. Rows written before nodes announced them read as protocol 3 (the
/// columns' default).
/// </summary>
public sealed record ClusterNode(string NodeId, string Address, DateTime StartedAt, byte ProtocolOldest = ClusterNode.UnannouncedProtocol, byte ProtocolNewest = ClusterNode.UnannouncedProtocol)
{
    /// <summary>The protocol of a node that wrote no protocol columns: the internal messages' version when the columns came.</summary>
    public const byte UnannouncedProtocol = 3;
}

/// <summary>A node's row: the node and the end of its lease.</summary>
public sealed record ClusterNodeRecord(ClusterNode Node, DateTime LeaseUntil)
{
    /// <summary>The database's clock when the node last wrote the row (null: no clock of its own, or a node from before it was kept).</summary>
    public DateTime? HeartbeatAt { get; init; }

    public bool IsLiveAt(DateTime now) => LeaseUntil > now;
}
