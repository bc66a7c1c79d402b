using System.Net;
using Bastion.Server;
using Bastion.Storage.Postgres;
using Bastion.Tests.Integration;
using Bastion.Tests.Storage.Postgres;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Three nodes on one PostgreSQL; one reaches the database through a relay the test cuts. Cut off, that node stops
/// serving its shards before any other node takes them — at no moment do two nodes serve one shard — and the others
/// take them and serve its workflows; when its way to the database is back it rejoins and takes its share again,
/// with new range ids, and nothing was lost.
/// </summary>
public sealed class ClusterCutOffTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime, IDisposable
{
    private const int Shards = 8;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-cutoff-" + Guid.NewGuid().ToString("N"));
    private readonly List<BastionServer> _nodes = [];
    private SeverableProxy? _proxy;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var url = await database.CreateDatabaseAsync();
        var server = PostgresDatabase.ServerFromEnvironment();
        _proxy = new SeverableProxy(new IPEndPoint(IPAddress.Loopback, server.Port));
        var viaProxy = DatabaseUrl.Parse(PostgresDatabase.UrlText(url.Database).Replace($":{server.Port}/", $":{_proxy.Port}/", StringComparison.Ordinal));
        foreach (var (name, databaseUrl) in new[] { ("node-a", url), ("node-b", url), ("node-c", viaProxy) })
        {
            _nodes.Add(await BastionServer.StartAsync(ClusterNode.Options(databaseUrl, name, _directory, Shards, Microsoft.Extensions.Logging.LogLevel.Critical)));
        }
    }

    private static Task SettledAsync(IReadOnlyList<BastionServer> nodes) => ClusterTests.SettledAsync(nodes, Shards);

    [Fact]
    public async Task ANodeCutOffFromTheDatabase_StopsServingBeforeAnotherTakesOver_AndComesBack()
    {
        await SettledAsync(_nodes);
        var (a, b, c) = (_nodes[0], _nodes[1], _nodes[2]);
        var ns = a.Namespaces.All.Single(n => n.Name == "default").Id;
        var cShards = c.Engine.OwnedShards.ToHashSet();
        Assert.NotEmpty(cShards);

        // Workflows on the cut-off node's shards, started before the cut.
        var client = await TemporalClient.ConnectAsync(new(a.Address) { Namespace = "default" });
        var workerClient = await TemporalClient.ConnectAsync(new(b.Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        var ids = new List<string>();
        while (ids.Count < 4)
        {
            var id = $"cutoff-{Guid.NewGuid():N}";
            if (cShards.Contains(a.Engine.ShardOf(ns, id)))
            {
                await client.StartWorkflowAsync((ClusterTests.Child w) => w.RunAsync(), new(id, taskQueue));
                ids.Add(id);
            }
        }

        _proxy!.Cut();

        // Watch (every 25 ms) until the others hold all of the node's shards: never does the cut-off node still serve a
        // shard another node serves.
        var overlaps = new List<string>();
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            foreach (var shard in cShards)
            {
                if (c.Engine.OwnsShard(shard) && (a.Engine.OwnsShard(shard) || b.Engine.OwnsShard(shard)))
                {
                    overlaps.Add($"shard {shard}");
                }
            }

            return Task.FromResult(cShards.All(s => a.Engine.OwnsShard(s) || b.Engine.OwnsShard(s)));
        }, TimeSpan.FromSeconds(60)), "the other nodes did not take the cut-off node's shards");
        Assert.Empty(overlaps);
        Assert.Empty(c.Engine.OwnedShards);

        // Its workflows are served by the others now.
        using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<ClusterTests.Child>());
        await worker.ExecuteAsync(async () =>
        {
            foreach (var id in ids)
            {
                await client.GetWorkflowHandle<ClusterTests.Child>(id).SignalAsync(w => w.GoAsync(id));
                Assert.Equal(id, await client.GetWorkflowHandle<ClusterTests.Child>(id).GetResultAsync<string>().WaitAsync(TimeSpan.FromSeconds(60)));
            }

            // Back: it rejoins and takes its share again; a workflow on one of those shards runs.
            _proxy.Restore();
            await SettledAsync(_nodes);
            string late;
            do
            {
                late = $"cutoff-late-{Guid.NewGuid():N}";
            }
            while (!c.Engine.OwnsShard(a.Engine.ShardOf(ns, late)));

            await client.StartWorkflowAsync((ClusterTests.Child w) => w.RunAsync(), new(late, taskQueue));
            await client.GetWorkflowHandle<ClusterTests.Child>(late).SignalAsync(w => w.GoAsync("back"));
            Assert.Equal("back", await client.GetWorkflowHandle<ClusterTests.Child>(late).GetResultAsync<string>().WaitAsync(TimeSpan.FromSeconds(60)));
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    public void Dispose() => _proxy?.Dispose();
}
