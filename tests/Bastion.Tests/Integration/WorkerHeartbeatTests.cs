using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Deployment.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Worker.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Runtime;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// The Workers API (issue 21): heartbeats recorded in matching's registry, listed with Temporal's query filter and
/// paging, counted and described; a worker that reports Shutdown leaves; the official SDK's own heartbeats show.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class WorkerHeartbeatTests(ServerFixture fixture)
{
    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    private static WorkerHeartbeat Heartbeat(string key, string queue, string identity, WorkerStatus status = WorkerStatus.Running, string? host = null, DateTime? start = null, string? build = null) =>
        new()
        {
            WorkerInstanceKey = key,
            TaskQueue = queue,
            WorkerIdentity = identity,
            Status = status,
            SdkName = "test-sdk",
            SdkVersion = "1.0.0",
            HostInfo = host is null ? null : new WorkerHostInfo { HostName = host, ProcessId = "42", WorkerGroupingKey = "group" },
            StartTime = start is { } s ? Timestamp.FromDateTime(s) : null,
            HeartbeatTime = Timestamp.FromDateTime(DateTime.UtcNow),
            DeploymentVersion = build is null ? null : new WorkerDeploymentVersion { DeploymentName = "dep", BuildId = build },
        };

    private async Task RecordAsync(params WorkerHeartbeat[] heartbeats)
    {
        var request = new RecordWorkerHeartbeatRequest { Namespace = "default", Identity = "test" };
        request.WorkerHeartbeat.Add(heartbeats);
        await Service.RecordWorkerHeartbeatAsync(request);
    }

    private async Task<List<string>> KeysAsync(string query)
    {
        var response = await Service.ListWorkersAsync(new ListWorkersRequest { Namespace = "default", Query = query });
        return [.. response.Workers.Select(w => w.WorkerInstanceKey)];
    }

    [Fact]
    public async Task ListWorkers_FiltersByTemporalsWorkerQuery()
    {
        var p = "q" + Guid.NewGuid().ToString("N")[..8];
        var early = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await RecordAsync(
            Heartbeat($"{p}-a", $"{p}-one", "alice@host", host: "host-1", start: early, build: "1.0"),
            Heartbeat($"{p}-b", $"{p}-one", "bob@host", status: WorkerStatus.ShuttingDown, host: "host-2", start: early.AddHours(2)),
            Heartbeat($"{p}-c", $"{p}-two", "alice@other"));

        Assert.Equal([$"{p}-a", $"{p}-b"], await KeysAsync($"TaskQueue = '{p}-one'"));
        Assert.Equal([$"{p}-a"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND WorkerIdentity STARTS_WITH 'alice' AND HostName = 'host-1'"));
        Assert.Equal([$"{p}-b"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND Status = 'ShuttingDown'"));
        Assert.Equal([$"{p}-a", $"{p}-c"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND WorkerStatus = 'Running'"));
        Assert.Equal([$"{p}-c"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND HostName IS NULL"));
        Assert.Equal([$"{p}-a", $"{p}-b"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND StartTime IS NOT NULL"));
        Assert.Equal([$"{p}-b"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND StartTime > '2026-01-01T01:00:00Z'"));
        Assert.Equal([$"{p}-a"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND StartTime BETWEEN '2025-12-31T00:00:00Z' AND '2026-01-01T00:30:00Z'"));
        Assert.Equal([$"{p}-a"], await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND (BuildId = '1.0' OR DeploymentName = 'none')"));
        Assert.Equal([$"{p}-c"], await KeysAsync($"WorkerInstanceKey = '{p}-c'"));

        // As in Temporal: a field it does not know matches no worker; a query that does not parse is refused.
        Assert.Empty(await KeysAsync($"TaskQueue STARTS_WITH '{p}' AND NoSuchField = 'x'"));
        var bad = await Assert.ThrowsAsync<RpcException>(() => Service.ListWorkersAsync(new ListWorkersRequest { Namespace = "default", Query = "TaskQueue = " }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, bad.Code);
        Assert.Contains("malformed query", bad.Message, StringComparison.Ordinal);

        var count = await Service.CountWorkersAsync(new CountWorkersRequest { Namespace = "default", Query = $"TaskQueue STARTS_WITH '{p}'" });
        Assert.Equal(3, count.Count);

        var listed = await Service.ListWorkersAsync(new ListWorkersRequest { Namespace = "default", Query = $"WorkerInstanceKey = '{p}-a'" });
        var info = Assert.Single(listed.Workers);
        Assert.Equal(("host-1", "42", "group", "1.0", "test-sdk"), (info.HostName, info.ProcessId, info.WorkerGroupingKey, info.DeploymentVersion.BuildId, info.SdkName));
#pragma warning disable CS0612 // the deprecated full form Temporal still fills
        Assert.Equal($"{p}-a", Assert.Single(listed.WorkersInfo).WorkerHeartbeat.WorkerInstanceKey);
#pragma warning restore CS0612
    }

    [Fact]
    public async Task ListWorkers_Pages_ByInstanceKey()
    {
        var p = "p" + Guid.NewGuid().ToString("N")[..8];
        await RecordAsync([.. Enumerable.Range(0, 5).Select(i => Heartbeat($"{p}-{i}", $"{p}-queue", "w"))]);

        var seen = new List<string>();
        var request = new ListWorkersRequest { Namespace = "default", Query = $"TaskQueue = '{p}-queue'", PageSize = 2 };
        var pages = 0;
        do
        {
            var page = await Service.ListWorkersAsync(request);
            Assert.True(page.Workers.Count <= 2);
            seen.AddRange(page.Workers.Select(w => w.WorkerInstanceKey));
            request.NextPageToken = page.NextPageToken;
            pages++;
        }
        while (request.NextPageToken.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal([.. Enumerable.Range(0, 5).Select(i => $"{p}-{i}")], seen);

        request.NextPageToken = Google.Protobuf.ByteString.CopyFromUtf8("not a token");
        var bad = await Assert.ThrowsAsync<RpcException>(() => Service.ListWorkersAsync(request));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, bad.Code);
    }

    [Fact]
    public async Task DescribeWorker_ShowsTheLastHeartbeat_AndAShutdownWorkerLeaves()
    {
        var key = "d-" + Guid.NewGuid().ToString("N");
        await RecordAsync(Heartbeat(key, "describe-queue", "first"));
        await RecordAsync(Heartbeat(key, "describe-queue", "second"));
        var described = await Service.DescribeWorkerAsync(new DescribeWorkerRequest { Namespace = "default", WorkerInstanceKey = key });
        Assert.Equal("second", described.WorkerInfo.WorkerHeartbeat.WorkerIdentity);

        await RecordAsync(Heartbeat(key, "describe-queue", "second", status: WorkerStatus.Shutdown));
        var gone = await Assert.ThrowsAsync<RpcException>(() => Service.DescribeWorkerAsync(new DescribeWorkerRequest { Namespace = "default", WorkerInstanceKey = key }));
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
        Assert.Equal($"Worker {key} not found", gone.Message);

        var empty = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(Heartbeat(string.Empty, "q", "w")));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, empty.Code);
    }

    [Fact]
    public async Task SystemWorkers_AreListedOnlyWhenAskedFor()
    {
        var key = "sys-" + Guid.NewGuid().ToString("N");
        await RecordAsync(Heartbeat(key, "temporal-sys-per-ns-tq", "server"));
        Assert.Empty(await KeysAsync($"WorkerInstanceKey = '{key}'"));
        var all = await Service.ListWorkersAsync(new ListWorkersRequest { Namespace = "default", Query = $"WorkerInstanceKey = '{key}'", IncludeSystemWorkers = true });
        Assert.Equal(key, Assert.Single(all.Workers).WorkerInstanceKey);
    }

    [Fact]
    public async Task WorkerConfigCommands_AreUnimplemented_AsOnTemporalsServer()
    {
        var fetch = await Assert.ThrowsAsync<RpcException>(() => Service.FetchWorkerConfigAsync(new FetchWorkerConfigRequest { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, fetch.Code);
        var update = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateWorkerConfigAsync(new UpdateWorkerConfigRequest { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, update.Code);
    }

    [Workflow]
    public sealed class IdleWorkflow
    {
        [WorkflowRun]
        public Task RunAsync() => Task.CompletedTask;
    }

    [Fact]
    public async Task TheSdksWorkerHeartbeats_ShowInListWorkers_AndItsShutdownIsRecorded()
    {
        var ns = await Service.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "default" });
        Assert.True(ns.NamespaceInfo.Capabilities.WorkerHeartbeats); // what makes the SDK send them

        var runtime = new TemporalRuntime(new TemporalRuntimeOptions { WorkerHeartbeatInterval = TimeSpan.FromSeconds(1) });
        var client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(fixture.Server.Address) { Namespace = "default", Runtime = runtime });
        var queue = ServerFixture.NewTaskQueue();
        var query = $"TaskQueue = '{queue}'";
        using (var worker = new TemporalWorker(client, new TemporalWorkerOptions(queue).AddWorkflow<IdleWorkflow>()))
        {
            await worker.ExecuteAsync(async () =>
            {
                Assert.True(await Eventually.HoldsAsync(async () => (await KeysAsync(query)).Count == 1));
                var listed = Assert.Single((await Service.ListWorkersAsync(new ListWorkersRequest { Namespace = "default", Query = query })).Workers);
                Assert.Equal(WorkerStatus.Running, listed.Status);
                Assert.NotEmpty(listed.SdkName);
                Assert.NotEmpty(listed.HostName);
            });
        }

        // The SDK's ShutdownWorker carries its last heartbeat, taken as it starts shutting down: the registry shows
        // that (as Temporal's does, until the entry expires), or drops the worker when it says Shutdown.
        var stopped = await Eventually.HoldsAsync(async () =>
            (await Service.ListWorkersAsync(new ListWorkersRequest { Namespace = "default", Query = query })).Workers is var workers
            && (workers.Count == 0 || workers.All(w => w.Status is WorkerStatus.ShuttingDown or WorkerStatus.Shutdown)));
        Assert.True(stopped, "the worker's final heartbeat (ShutdownWorker) reached the registry");
    }
}
