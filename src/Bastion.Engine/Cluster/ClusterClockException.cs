using Bastion.Storage;

namespace Bastion.Engine.Cluster;

/// <summary>A node whose clock is further from the database's than <see cref="ClusterMembership.ClockSkewLimit"/> does not join: its leases would be misread.</summary>
internal sealed class ClusterClockException(ClusterNode self, TimeSpan skew)
    : ClusterJoinException($"This machine's clock is {Math.Abs(skew.TotalSeconds):F1} s {(skew > TimeSpan.Zero ? "ahead of" : "behind")} the database's; cluster node {self.NodeId} does not join until it is within {ClusterMembership.ClockSkewLimit.TotalSeconds:F0} s (every node's leases and timers are read against its own clock: set it right, e.g. with NTP).")
{
    public TimeSpan Skew { get; } = skew;
}
