using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Closed runs are deleted when their namespace's retention (at close time) has passed, by a durable timer task:
/// a real server on a SQLite file, driven by the SDK, on a clock the test moves.
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private readonly ManualTime _time = new(DateTimeOffset.UtcNow);
    private readonly FileServer _server;

    public RetentionTests() => _server = new FileServer(_time);

    [Workflow]
    public sealed class Done
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("done");
    }

    private TemporalClient Client => _server.Client;

    private Temporalio.Client.WorkflowService Service => _server.Service;

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    private async Task<string> RegisterAsync(TimeSpan retention)
    {
        var name = "ret-" + Guid.NewGuid().ToString("N")[..10];
        await Service.RegisterNamespaceAsync(new() { Namespace = name, WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(retention) });
        return name;
    }

    /// <summary>Starts a run with no worker (none is needed to terminate it); returns its run id.</summary>
    private async Task<string> StartAsync(string ns, string workflowId)
    {
        var started = await Service.StartWorkflowExecutionAsync(new()
        {
            Namespace = ns,
            WorkflowId = workflowId,
            WorkflowType = new WorkflowType { Name = "Waits" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
            WorkflowIdReusePolicy = WorkflowIdReusePolicy.AllowDuplicate,
        });
        return started.RunId;
    }

    private async Task<string> StartAndTerminateAsync(string ns, string workflowId)
    {
        var runId = await StartAsync(ns, workflowId);
        await Service.TerminateWorkflowExecutionAsync(new() { Namespace = ns, WorkflowExecution = new() { WorkflowId = workflowId, RunId = runId }, Reason = "done" });
        return runId;
    }

    private async Task<bool> ExistsAsync(string ns, string workflowId, string runId)
    {
        try
        {
            await Service.DescribeWorkflowExecutionAsync(new() { Namespace = ns, Execution = new() { WorkflowId = workflowId, RunId = runId } });
            return true;
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Deletion runs on the timer queue after the clock moved: poll (bounded) until the run is gone.</summary>
    private async Task WaitDeletedAsync(string ns, string workflowId, string runId)
    {
        for (var i = 0; i < 200 && await ExistsAsync(ns, workflowId, runId); i++)
        {
            // A timer armed after the last advance (the start-up catch-up runs in the background) waits for the
            // clock to move again: move it a little, as real time would.
            _time.Advance(TimeSpan.FromMilliseconds(1));
            await Task.Delay(50);
        }

        Assert.False(await ExistsAsync(ns, workflowId, runId), $"run {runId} of {workflowId} was not deleted");
    }

    private async Task<long> CountAsync(string ns, string workflowId) =>
        (await Service.CountWorkflowExecutionsAsync(new() { Namespace = ns, Query = $"WorkflowId = '{workflowId}'" })).Count;

    [Fact]
    public async Task CompletedWorkflow_SurvivesUntilRetention_ThenIsDeleted_RunningOneStays()
    {
        var doneId = "done-" + Guid.NewGuid().ToString("N");
        var runningId = "running-" + Guid.NewGuid().ToString("N");
        var taskQueue = ServerFixture.NewTaskQueue();
        string doneRun;
        using (var worker = new TemporalWorker(Client, new TemporalWorkerOptions(taskQueue).AddWorkflow<Done>()))
        {
            doneRun = await worker.ExecuteAsync(async () =>
            {
                var handle = await Client.StartWorkflowAsync((Done wf) => wf.RunAsync(), new(doneId, taskQueue));
                Assert.Equal("done", await handle.GetResultAsync());
                return handle.ResultRunId!;
            });
        }

        var runningRun = await StartAsync("default", runningId);

        _time.Advance(TimeSpan.FromHours(23)); // "default" keeps closed runs 1 day
        Assert.True(await ExistsAsync("default", doneId, doneRun));
        Assert.Equal(1, await CountAsync("default", doneId));

        _time.Advance(TimeSpan.FromHours(2));
        await WaitDeletedAsync("default", doneId, doneRun);
        var history = await Assert.ThrowsAsync<RpcException>(() => Service.GetWorkflowExecutionHistoryAsync(new()
        {
            Namespace = "default",
            Execution = new() { WorkflowId = doneId },
        }));
        Assert.Equal(RpcException.StatusCode.NotFound, history.Code);
        Assert.Equal(0, await CountAsync("default", doneId));
        var listed = await Service.ListWorkflowExecutionsAsync(new() { Namespace = "default", Query = $"WorkflowId = '{doneId}'" });
        Assert.Empty(listed.Executions);

        _time.Advance(TimeSpan.FromDays(30));
        Assert.True(await ExistsAsync("default", runningId, runningRun));
        Assert.Equal(1, await CountAsync("default", runningId));
    }

    [Fact]
    public async Task DeletedRun_LeavesTheWorkflowIdsNewerCurrentRun()
    {
        var id = "reused-" + Guid.NewGuid().ToString("N");
        var first = await StartAndTerminateAsync("default", id);
        var second = await StartAsync("default", id);

        _time.Advance(TimeSpan.FromDays(2));
        await WaitDeletedAsync("default", id, first);
        var current = await Service.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } });
        Assert.Equal(second, current.WorkflowExecutionInfo.Execution.RunId);
        Assert.Equal(WorkflowExecutionStatus.Running, current.WorkflowExecutionInfo.Status);
    }

    [Fact]
    public async Task NamespaceRetention_AtCloseTime_IsRespected()
    {
        var ns = await RegisterAsync(TimeSpan.FromDays(3));
        var id = "long-" + Guid.NewGuid().ToString("N");
        var run = await StartAndTerminateAsync(ns, id);
        var defaultId = "short-" + Guid.NewGuid().ToString("N");
        var defaultRun = await StartAndTerminateAsync("default", defaultId);

        // Shortening the retention later does not move the deletion of a run closed before (Temporal's rule).
        await Service.UpdateNamespaceAsync(new() { Namespace = ns, Config = new() { WorkflowExecutionRetentionTtl = Duration.FromTimeSpan(TimeSpan.FromDays(1)) } });

        _time.Advance(TimeSpan.FromDays(2));
        await WaitDeletedAsync("default", defaultId, defaultRun);
        Assert.True(await ExistsAsync(ns, id, run));

        _time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        await WaitDeletedAsync(ns, id, run);
    }

    [Fact]
    public async Task RetentionTimer_SurvivesARestart()
    {
        var id = "restart-" + Guid.NewGuid().ToString("N");
        var run = await StartAndTerminateAsync("default", id);
        await _server.RestartAsync();

        _time.Advance(TimeSpan.FromHours(12));
        Assert.True(await ExistsAsync("default", id, run));
        _time.Advance(TimeSpan.FromHours(13));
        await WaitDeletedAsync("default", id, run);
        Assert.Equal(0, await CountAsync("default", id));
    }

    [Fact]
    public async Task FinishedBatchOperation_IsGoneAfterRetention_AndItsJobIdFree()
    {
        var id = "batch-target-" + Guid.NewGuid().ToString("N");
        await StartAsync("default", id);
        StartBatchOperationRequest Batch() => new()
        {
            Namespace = "default",
            JobId = "retained-job",
            Reason = "retention",
#pragma warning disable CS0612 // The deprecated list is still accepted (older clients send it).
            Executions = { new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = id } },
#pragma warning restore CS0612
            TerminationOperation = new(),
        };
        await Service.StartBatchOperationAsync(Batch());
        var done = await BatchOperationTests.WaitDoneAsync(Service, "default", "retained-job");
        Assert.Equal(BatchOperationState.Completed, done.State);

        _time.Advance(TimeSpan.FromHours(23));
        Assert.Single((await Service.ListBatchOperationsAsync(new() { Namespace = "default" })).OperationInfo);
        _time.Advance(TimeSpan.FromHours(2));
        var gone = await Assert.ThrowsAsync<RpcException>(() => Service.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "retained-job" }));
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
        Assert.Empty((await Service.ListBatchOperationsAsync(new() { Namespace = "default" })).OperationInfo);
        await Service.StartBatchOperationAsync(Batch());
        Assert.Equal(BatchOperationState.Completed, (await BatchOperationTests.WaitDoneAsync(Service, "default", "retained-job")).State);
    }

    [Fact]
    public async Task RunClosedBeforeRetentionTimers_IsCaughtUpAtStart()
    {
        var id = "legacy-" + Guid.NewGuid().ToString("N");
        var run = await StartAndTerminateAsync("default", id);
        await _server.StopAsync();
        using (var connection = new SqliteConnection($"Data Source={_server.DatabaseFile};Pooling=false"))
        {
            // What a database written before retention timers looks like: closed runs without one.
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "DELETE FROM tasks WHERE kind = 19;";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        await _server.StartAsync();
        _time.Advance(TimeSpan.FromDays(2));
        await WaitDeletedAsync("default", id, run);
    }
}
