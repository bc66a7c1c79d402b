using Bastion.Storage;

namespace Bastion.Engine.Cluster;

/// <summary>Two nodes that share no version of the internal messages: their builds are more than one release apart.</summary>
internal sealed class ClusterVersionException(ClusterNode self, ClusterNode other)
    : ClusterJoinException($"Cluster node {other.NodeId} reads and writes internal messages of versions {other.ProtocolOldest} to {other.ProtocolNewest}; this node ({self.NodeId}) {self.ProtocolOldest} to {self.ProtocolNewest}: they cannot work together. Upgrade the nodes one release at a time.");
