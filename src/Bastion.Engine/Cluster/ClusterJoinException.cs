namespace Bastion.Engine.Cluster;

/// <summary>A node that cannot work with the cluster it would join: it starts nothing, and its message says why.</summary>
internal abstract class ClusterJoinException(string message) : Exception(message);
