using Bastion.Engine.Tasks;
using Bastion.Server;
using Bastion.Storage.Sqlite;
using Bastion.Tests.Integration;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Engine;

/// <summary>
/// The server's shard leases as other servers see them in the database: held under its node name while it runs,
/// released when it stops; a renewal that finds a shard taken drops the shard before any call touches it.
/// </summary>
public sealed class ShardLeaseTests : IAsyncLifetime
{
    private readonly FileServer _server = new();

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    [Fact]
    public async Task ARunningServer_HoldsEveryShardUnderItsNodeName_AndReleasesThemWhenItStops()
    {
        using (var store = SqliteStorageProvider.OpenFile(_server.DatabaseFile))
        {
            var shards = await store.ReadShardsAsync(CancellationToken.None);
            Assert.Equal(_server.Server.Engine.ShardCount, shards.Count);
            Assert.All(shards, s => Assert.Equal(BastionServer.NodeName, s.Owner));
            Assert.All(shards, s => Assert.True(s.LeaseUntil > DateTime.UtcNow, "the lease should run into the future"));
        }

        await _server.StopAsync();
        using (var store = SqliteStorageProvider.OpenFile(_server.DatabaseFile))
        {
            Assert.All(await store.ReadShardsAsync(CancellationToken.None), s => Assert.Null(s.Owner));
        }
    }

    [Fact]
    public async Task ARenewal_ThatFindsTheShardsTaken_DropsThem_BeforeAnyCallTouchesThem()
    {
        var workflowId = "leased-" + Guid.NewGuid();
        var started = await _server.Service.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = workflowId,
            WorkflowType = new WorkflowType { Name = "Waits" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
            WorkflowRunTimeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
        });
        var engine = _server.Server.Engine;
        await engine.RenewShardsAsync();
        Assert.True(engine.HoldsTask(started.RunId, TaskKind.WorkflowRunTimeout)); // renewing its own leases changes nothing

        using (var intruder = SqliteStorageProvider.OpenFile(_server.DatabaseFile))
        {
            for (var shard = 0; shard < engine.ShardCount; shard++)
            {
                await intruder.AcquireShardAsync(shard, "intruder", DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
            }
        }

        await engine.RenewShardsAsync();
        Assert.False(engine.HoldsTask(started.RunId, TaskKind.WorkflowRunTimeout)); // dropped by the renewal, no call needed
        var describe = new Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionRequest { Namespace = "default", Execution = new() { WorkflowId = workflowId } };
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.Service.DescribeWorkflowExecutionAsync(describe, new RpcOptions { Retry = false }));
        Assert.Equal(RpcException.StatusCode.Unavailable, e.Code);
    }
}
