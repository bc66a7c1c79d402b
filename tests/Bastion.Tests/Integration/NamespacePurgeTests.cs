using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Client.Schedules;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// A deleted namespace's rows are purged in the background (Temporal's namespace-delete workflow deletes its
/// executions): open and closed runs with their timers, history, visibility and schedules go; the purge is durable and
/// resumes after a restart; a namespace made afterwards under the same name is untouched. A real server on a SQLite
/// file, driven by the SDK; rows counted through the store contract.
/// </summary>
public sealed class NamespacePurgeTests : IAsyncLifetime
{
    private readonly FileServer _server = new();

    [Workflow]
    public sealed class Sleeps
    {
        [WorkflowRun]
        public Task RunAsync() => Workflow.DelayAsync(TimeSpan.FromHours(1));
    }

    public Task InitializeAsync()
    {
        // Every node learns of a deletion within a refresh; the purge's last look waits two of them.
        _server.Configure = o => o.NamespaceRefreshInterval = TimeSpan.FromMilliseconds(200);
        return _server.StartAsync();
    }

    public Task DisposeAsync() => _server.DeleteAsync();

    private async Task<(string Id, TemporalClient Client)> RegisterAsync(string name)
    {
        await _server.Service.RegisterNamespaceAsync(new() { Namespace = name, WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        var id = (await _server.Service.DescribeNamespaceAsync(new() { Namespace = name })).NamespaceInfo.Id;
        return (id, await TemporalClient.ConnectAsync(new(_server.Server.Address) { Namespace = name }));
    }

    /// <summary>An open run waiting on a timer, a closed (terminated) run, an open run no worker took, and a schedule.</summary>
    private static async Task PopulateAsync(TemporalClient client)
    {
        var queue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(queue).AddWorkflow<Sleeps>());
        await worker.ExecuteAsync(async () =>
        {
            var sleeping = await client.StartWorkflowAsync((Sleeps wf) => wf.RunAsync(), new(id: "sleeper", taskQueue: queue));
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                await foreach (var e in sleeping.FetchHistoryEventsAsync())
                {
                    if (e.EventType == EventType.TimerStarted)
                    {
                        return true;
                    }
                }

                return false;
            }));
        });

        var closed = await client.StartWorkflowAsync("Nobody", Array.Empty<object?>(), new(id: "closed", taskQueue: "nowhere"));
        await closed.TerminateAsync("done");
        await client.StartWorkflowAsync("Nobody", Array.Empty<object?>(), new(id: "open", taskQueue: "nowhere"));
        await client.CreateScheduleAsync("hourly", new Schedule(
            ScheduleActionStartWorkflow.Create("Nobody", Array.Empty<object?>(), new WorkflowOptions("from-schedule", "nowhere")),
            new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromHours(1))] }));
    }

    private Task<long> RowsAsync(string namespaceId) => _server.Server.Storage.NamespacePurges.CountNamespaceRowsAsync(namespaceId, CancellationToken.None);

    private async Task<bool> PurgedAsync(string namespaceId) =>
        await RowsAsync(namespaceId) == 0
        && (await _server.Server.Storage.NamespacePurges.ListNamespacePurgesAsync(CancellationToken.None)).All(p => p.NamespaceId != namespaceId);

    [Fact]
    public async Task DeletingANamespace_PurgesItsRunsTimersHistoryVisibilityAndSchedules_AndTheNextNamespaceOfThatNameIsClean()
    {
        var (doomedId, doomed) = await RegisterAsync("purged");
        await PopulateAsync(doomed);
        var (keptId, kept) = await RegisterAsync("bystander");
        await kept.StartWorkflowAsync("Nobody", Array.Empty<object?>(), new(id: "stays", taskQueue: "nowhere"));
        var keptRows = await RowsAsync(keptId);
        Assert.True(await RowsAsync(doomedId) > 10);

        await _server.Client.OperatorService.DeleteNamespaceAsync(new() { Namespace = "purged" });
        Assert.True(await Eventually.HoldsAsync(() => PurgedAsync(doomedId), TimeSpan.FromSeconds(60)));
        Assert.Equal(keptRows, await RowsAsync(keptId));

        // The same name again: a new id, nothing of the old runs.
        var (againId, again) = await RegisterAsync("purged");
        Assert.NotEqual(doomedId, againId);
        Assert.Equal(0, await RowsAsync(againId));
        Assert.Equal(0, (await again.CountWorkflowsAsync(string.Empty)).Count);
        var missing = await Assert.ThrowsAsync<RpcException>(() => again.GetWorkflowHandle("sleeper").DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, missing.Code);
        await again.StartWorkflowAsync("Nobody", Array.Empty<object?>(), new(id: "sleeper", taskQueue: "nowhere")); // the id is free
    }

    [Fact]
    public async Task APurgeInterruptedByARestart_ResumesFromWhatIsLeft()
    {
        var (doomedId, doomed) = await RegisterAsync("interrupted");
        await PopulateAsync(doomed);
        var before = await RowsAsync(doomedId);

        // One row a step, and a pause between steps far longer than the test: the server stops mid-purge.
        _server.Configure = o =>
        {
            o.NamespaceRefreshInterval = TimeSpan.FromMilliseconds(200);
            o.NamespacePurgePageSize = 1;
            o.NamespacePurgePace = TimeSpan.FromHours(1);
        };
        await _server.RestartAsync();
        await _server.Client.OperatorService.DeleteNamespaceAsync(new() { Namespace = "interrupted" });
        Assert.True(await Eventually.HoldsAsync(async () =>
            (await _server.Server.Storage.NamespacePurges.ListNamespacePurgesAsync(CancellationToken.None)).Any(p => p.NamespaceId == doomedId && p.Purged > 0)));
        var left = await RowsAsync(doomedId);
        Assert.InRange(left, 1, before - 1); // a step removed some, and the next is an hour away
        await _server.StopAsync();

        _server.Configure = o => o.NamespaceRefreshInterval = TimeSpan.FromMilliseconds(200);
        await _server.StartAsync();
        Assert.True(await Eventually.HoldsAsync(() => PurgedAsync(doomedId), TimeSpan.FromSeconds(60)));
    }
}
