using System.CommandLine;
using System.Globalization;
using Bastion.Storage;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion cluster status</c>: the nodes on a database (their addresses, start times, leases and clocks, live or not) and
/// who holds each shard, read from the database like <c>bastion keys</c>; works while the servers run.
/// </summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var command = new Command("cluster", "The Bastion nodes on a database.");
        command.Subcommands.Add(StatusCommand());
        return command;
    }

    private static Command StatusCommand()
    {
        var database = new DatabaseOptions();
        var command = new Command("status", "List the nodes (address, start, lease), each shard's holder and lease, and the shards each node holds.");
        database.AddTo(command);
        command.SetAction((parse, _) => database.RunAsync(parse, async (_, store) =>
        {
            var now = DateTime.UtcNow;
            var nodes = await store.Membership.ReadNodesAsync(CancellationToken.None).ConfigureAwait(false);
            var shards = await store.Shards.ReadShardsAsync(CancellationToken.None).ConfigureAwait(false);
            Console.Write(Render(now, nodes, shards));
        }));
        return command;
    }

    /// <summary>The report: nodes first (a standalone server has no row; its shards name it), then every shard.</summary>
    internal static string Render(DateTime now, IReadOnlyList<ClusterNodeRecord> nodes, IReadOnlyList<ShardRecord> shards)
    {
        var held = shards.Where(s => s.Owner is not null && s.LeaseUntil > now).GroupBy(s => s.Owner!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var text = new System.Text.StringBuilder();
        var live = nodes.Count(n => n.IsLiveAt(now));
        text.Append(CultureInfo.InvariantCulture, $"Nodes: {live} live of {nodes.Count}\n");
        foreach (var node in nodes)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  {node.Node.NodeId}  address {node.Node.Address}  started {node.Node.StartedAt:yyyy-MM-ddTHH:mm:ssZ}  lease {Lease(node.LeaseUntil, now)}  protocol {Protocol(node.Node)}{Clock(node)}  shards {held.GetValueOrDefault(node.Node.NodeId)}\n");
        }

        foreach (var (owner, count) in held.Where(h => nodes.All(n => n.Node.NodeId != h.Key)).OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {owner}  (standalone: no node row)  shards {count}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"Shards: {shards.Count}, {shards.Count(s => s.Owner is not null && s.LeaseUntil > now)} held\n");
        foreach (var shard in shards)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  {shard.ShardId}  range {shard.RangeId}  {(shard.Owner is { } owner ? $"held by {owner}, lease {Lease(shard.LeaseUntil, now)}" : "released")}\n");
        }

        return text.ToString();
    }

    /// <summary>The versions of the internal messages a node reads and writes (a rolling upgrade shows two builds' ranges).</summary>
    private static string Protocol(ClusterNode node) => node.ProtocolOldest == node.ProtocolNewest
        ? node.ProtocolNewest.ToString(CultureInfo.InvariantCulture)
        : FormattableString.Invariant($"{node.ProtocolOldest}-{node.ProtocolNewest}");

    /// <summary>
    /// How far the node's clock was from the database's at its last heartbeat: its lease's end (its clock) less the lease,
    /// against the database's clock as it wrote the row. Nodes must keep within <see cref="Bastion.Engine.Cluster.ClusterMembership.ClockSkewLimit"/>.
    /// </summary>
    private static string Clock(ClusterNodeRecord node) =>
        node.HeartbeatAt is { } at
            ? FormattableString.Invariant($"  clock {(node.LeaseUntil - Bastion.Engine.Cluster.ClusterMembership.LeaseDuration - at).TotalSeconds:+0.0;-0.0;0.0} s")
            : string.Empty;

    private static string Lease(DateTime until, DateTime now) =>
        until > now
            ? $"{(until - now).TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s left"
            : until.Ticks == 0 ? "none" : $"ended {until:yyyy-MM-ddTHH:mm:ssZ}";
}
