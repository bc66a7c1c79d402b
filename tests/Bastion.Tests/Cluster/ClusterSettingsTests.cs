using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Storage.Postgres;
using Bastion.Tests.Integration;
using Bastion.Tests.Storage.Postgres;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Common;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Settings changed through one node are in effect on every node when the call that changed them answers — a search
/// attribute added, a Nexus endpoint created, a namespace updated, a user made — not only after the others' next periodic re-read
/// (an hour here). The SDK's own tests do exactly this through one address, their calls run by whichever node owns
/// what they address.
/// </summary>
public sealed class ClusterSettingsTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const int Shards = 4;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-settings-" + Guid.NewGuid().ToString("N"));
    private readonly List<BastionServer> _nodes = [];
    private DatabaseUrl? _url;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var url = _url = await database.CreateDatabaseAsync();
        foreach (var name in new[] { "node-a", "node-b", "node-c" })
        {
            var options = ClusterNode.Options(url, name, _directory, Shards);
            options.NamespaceRefreshInterval = TimeSpan.FromHours(1);
            _nodes.Add(await BastionServer.StartAsync(options));
        }

        await ClusterTests.SettledAsync(_nodes, Shards);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task ASettingChangedThroughOneNode_IsInEffectOnEveryNode_WhenTheCallAnswers()
    {
        var clients = new List<TemporalClient>();
        foreach (var node in _nodes)
        {
            clients.Add(await TemporalClient.ConnectAsync(new(node.Address) { Namespace = "default" }));
        }

        await clients[0].OperatorService.AddSearchAttributesAsync(new()
        {
            Namespace = "default",
            SearchAttributes = { ["BastionColor"] = IndexedValueType.Keyword },
        });
        var color = SearchAttributeKey.CreateKeyword("BastionColor");
        for (var i = 0; i < 8; i++)
        {
            // Workflow ids on every shard: each start runs on its shard's owner, reached through nodes b and c.
            var attributes = new SearchAttributeCollection.Builder().Set(color, "red").ToSearchAttributeCollection();
            await clients[1 + (i % 2)].StartWorkflowAsync("Unworked", [], new($"settings-{i}-{Guid.NewGuid():N}", ServerFixture.NewTaskQueue()) { TypedSearchAttributes = attributes });
        }

        var endpoint = (await clients[0].OperatorService.CreateNexusEndpointAsync(new CreateNexusEndpointRequest
        {
            Spec = new() { Name = "settings-endpoint", Target = new() { Worker = new() { Namespace = "default", TaskQueue = "nexus-tq" } } },
        })).Endpoint;
        foreach (var client in clients.Skip(1))
        {
            Assert.Equal("settings-endpoint", (await client.OperatorService.GetNexusEndpointAsync(new() { Id = endpoint.Id })).Endpoint.Spec.Name);
        }

        await clients[0].WorkflowService.UpdateNamespaceAsync(new() { Namespace = "default", UpdateInfo = new() { Description = "changed through node a" } });
        foreach (var client in clients.Skip(1))
        {
            Assert.Equal("changed through node a", (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" })).NamespaceInfo.Description);
        }

        // An account's identities: a user made through node a is known to the others at once (and so would a revoked
        // API key be refused by them at once).
        await _nodes[0].Identities.CreateAsync(new UserEntry { Id = "user-settings", Account = "local", Email = "settings@example.com", Role = AccountRole.Developer });
        foreach (var node in _nodes.Skip(1))
        {
            Assert.NotNull(node.Identities.UserByEmail("local", "settings@example.com"));
        }
    }

    /// <summary>
    /// A node that has just joined — before the others' next look at the members — gets a change made through another
    /// node at once: the changing node asks the database who is live, and the new node read the settings once more when
    /// its listener came up (a change between its first read and then was announced to it in vain).
    /// </summary>
    [Fact]
    public async Task ANodeThatHasJustJoined_GetsAChangeMadeThroughAnother_AtOnce()
    {
        var options = ClusterNode.Options(_url!, "node-d", _directory, Shards);
        options.NamespaceRefreshInterval = TimeSpan.FromHours(1);
        _nodes.Add(await BastionServer.StartAsync(options));
        await _nodes[0].Identities.CreateAsync(new UserEntry { Id = "user-joined", Account = "local", Email = "joined@example.com", Role = AccountRole.Developer });
        Assert.NotNull(_nodes[3].Identities.UserByEmail("local", "joined@example.com"));
    }
}
