using Bastion.Cli;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Tests.Integration;

namespace Bastion.Tests.Cli;

/// <summary><c>bastion cluster status</c>: nodes with their leases, and who holds each shard.</summary>
public sealed class ClusterCommandTests
{
    private static readonly DateTime s_now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void TheReport_TellsLiveFromLapsedNodes_AndCountsTheShardsEachHolds()
    {
        ClusterNodeRecord[] nodes =
        [
            new(new ClusterNode("node-a", "10.0.0.1:7243", s_now.AddHours(-1), 3, 4), s_now.AddSeconds(8)) { HeartbeatAt = s_now.AddSeconds(-2.4) }, // its clock 0.4 s ahead
            new(new ClusterNode("node-b", "10.0.0.2:7243", s_now.AddHours(-2)), s_now.AddSeconds(-30)),
        ];
        ShardRecord[] shards =
        [
            new(0, 3, "node-a", s_now.AddSeconds(25)),
            new(1, 7, "node-b", s_now.AddSeconds(-20)), // its holder's lease ran out: not held
            new(2, 2, null, new DateTime(0, DateTimeKind.Utc)),
        ];

        var report = ClusterCommand.Render(s_now, nodes, shards);

        Assert.Equal(
            """
            Nodes: 1 live of 2
              node-a  address 10.0.0.1:7243  started 2030-01-01T11:00:00Z  lease 8 s left  protocol 3-4  clock +0.4 s  shards 1
              node-b  address 10.0.0.2:7243  started 2030-01-01T10:00:00Z  lease ended 2030-01-01T11:59:30Z  protocol 3  shards 0
            Shards: 3, 1 held
              0  range 3  held by node-a, lease 25 s left
              1  range 7  held by node-b, lease ended 2030-01-01T11:59:40Z
              2  range 2  released

            """.Replace("\r\n", "\n", StringComparison.Ordinal),
            report);
    }

    /// <summary>A standalone server writes no node row; its shards name it. The command reads while the server runs.</summary>
    [Fact]
    public async Task OnARunningStandaloneServer_ListsItsShards()
    {
        var server = new FileServer();
        await server.StartAsync();
        try
        {
            var (exit, output, error) = await CliProcess.RunAsync("cluster", "status", "--db-filename", server.DatabaseFile);

            Assert.True(exit == 0, error);
            Assert.Contains("Nodes: 0 live of 0", output, StringComparison.Ordinal);
            Assert.Contains($"  {BastionServer.NodeName}  (standalone: no node row)  shards {server.Server.Engine.ShardCount}", output, StringComparison.Ordinal);
            Assert.Contains($"Shards: {server.Server.Engine.ShardCount}, {server.Server.Engine.ShardCount} held", output, StringComparison.Ordinal);
        }
        finally
        {
            await server.DeleteAsync();
        }
    }

    [Fact]
    public async Task WithoutADatabase_IsAUsageError()
    {
        var (exit, _, error) = await CliProcess.RunAsync("cluster", "status");
        Assert.Equal(2, exit);
        Assert.Contains("--db-filename or --database-url", error, StringComparison.Ordinal);
    }
}
