using Bastion.Engine.Tasks;
using Bastion.Server;
using Bastion.Storage.Sqlite;
using Bastion.Tests.Integration;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Client;
using Temporalio.Client.Schedules;
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

    /// <summary>
    /// A schedule stored before schedules had shards (no shard_id) is run after a restart by the owner of the shard its id
    /// falls on, and its next write records that shard.
    /// </summary>
    [Fact]
    public async Task AScheduleFromBeforeShards_IsRunAfterARestart_AndItsNextWriteRecordsItsShard()
    {
        await _server.Client.CreateScheduleAsync("old-schedule", new Schedule(
            ScheduleActionStartWorkflow.Create("Waits", [], new WorkflowOptions("from-old-schedule", "schedule-queue")),
            new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromHours(1))] }));
        var namespaceId = _server.Server.Namespaces.All.Single(n => n.Name == "default").Id;
        await _server.StopAsync();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_server.DatabaseFile};Pooling=False"))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "UPDATE schedules SET shard_id = NULL;"; // as a database from before schedules had shards
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        await _server.StartAsync();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_server.Server.Schedules.HasAlarm(namespaceId, "old-schedule"))));
        await _server.Client.GetScheduleHandle("old-schedule").PauseAsync("a write"); // the restarted server has a client of its own
        using var store = SqliteStorageProvider.OpenFile(_server.DatabaseFile);
        var shard = _server.Server.Engine.ShardOf(namespaceId, "old-schedule");
        Assert.Single(await store.ListSchedulesOfShardAsync(shard, withUnassigned: false, CancellationToken.None));
        Assert.Empty(await store.ListSchedulesOfShardAsync(-1, withUnassigned: true, CancellationToken.None));
    }

    /// <summary>Its runs' timers and its schedules' alarms go; calls of it answer UNAVAILABLE.</summary>
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
        await _server.Client.CreateScheduleAsync("leased-schedule", new Schedule(
            ScheduleActionStartWorkflow.Create("Waits", [], new WorkflowOptions("from-schedule", "schedule-queue")),
            new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromHours(1))] }));
        var namespaceId = _server.Server.Namespaces.All.Single(n => n.Name == "default").Id;
        var engine = _server.Server.Engine;
        await engine.RenewShardsAsync();
        Assert.True(engine.HoldsTask(started.RunId, TaskKind.WorkflowRunTimeout)); // renewing its own leases changes nothing
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_server.Server.Schedules.HasAlarm(namespaceId, "leased-schedule"))));

        using (var intruder = SqliteStorageProvider.OpenFile(_server.DatabaseFile))
        {
            for (var shard = 0; shard < engine.ShardCount; shard++)
            {
                await intruder.AcquireShardAsync(shard, "intruder", DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
            }
        }

        await engine.RenewShardsAsync();
        Assert.False(engine.HoldsTask(started.RunId, TaskKind.WorkflowRunTimeout)); // dropped by the renewal, no call needed
        Assert.False(_server.Server.Schedules.HasAlarm(namespaceId, "leased-schedule")); // the new owner runs the schedule
        var describe = new Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionRequest { Namespace = "default", Execution = new() { WorkflowId = workflowId } };
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.Service.DescribeWorkflowExecutionAsync(describe, new RpcOptions { Retry = false }));
        Assert.Equal(RpcException.StatusCode.Unavailable, e.Code);
    }
}
