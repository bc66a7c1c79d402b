using Bastion.Storage;

namespace Bastion.Engine.Cluster;

/// <summary>
/// A node named as a live node at another address: two processes under one name would each take that name's shards
/// from the other, endlessly. (At its own address it is this node's last run, whose port no other process can hold.)
/// </summary>
internal sealed class ClusterNameException(ClusterNode self, ClusterNodeRecord holder)
    : ClusterJoinException($"Cluster node name {self.NodeId} is held by a live node at {holder.Node.Address} (started {holder.Node.StartedAt:o}); this node, at {self.Address}, does not join. Give each node its own --node-name, or, if that node is gone, start this one after its lease ends ({holder.LeaseUntil:o}).");
