using Bastion.Server;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Eager workflow start: the first workflow task comes back in the start response, started for the starter, and
/// never goes through matching; Temporal's rules on when a start is eager.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class EagerStartTests(ServerFixture fixture)
{
    private const string StartMethod = "temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution";

    private RawDriver Raw => new(fixture.Client);

    /// <summary>
    /// A start sent as is: the SDK's own client clears <c>request_eager_execution</c> unless one of its workers
    /// can take the task, so requests that must reach the server eager go over plain gRPC.
    /// </summary>
    private static Task<StartWorkflowExecutionResponse> StartAsync(string address, StartWorkflowExecutionRequest request) =>
        Wire.RawGrpc.UnaryAsync(address, StartMethod, request, StartWorkflowExecutionResponse.Parser);

    private Task<StartWorkflowExecutionResponse> StartAsync(StartWorkflowExecutionRequest request) => StartAsync(fixture.Server.Address, request);

    [Workflow]
    public sealed class EagerWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) => Task.FromResult($"Hello, {name}!");
    }

    private static StartWorkflowExecutionRequest EagerRequest(string workflowId, string taskQueue) => new()
    {
        Namespace = "default",
        WorkflowId = workflowId,
        WorkflowType = new() { Name = "RawWorkflow" },
        TaskQueue = new() { Name = taskQueue },
        RequestId = Guid.NewGuid().ToString(),
        Identity = "eager-starter",
        RequestEagerExecution = true,
    };

    [Fact]
    public async Task Sdk_RequestEagerStart_RunsTheFirstTaskOnTheStartersWorker()
    {
        // The starter and its worker share a client (the SDK hands the inline task to a worker of the same client);
        // they carry different identities, so the history shows who started the first task.
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = "default", Identity = "eager-starter" });
        var tq = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(tq) { Identity = "eager-poller" }.AddWorkflow<EagerWorkflow>());
        await worker.ExecuteAsync(async () =>
        {
            var handle = await client.StartWorkflowAsync(
                (EagerWorkflow wf) => wf.RunAsync("eager"),
                new("eager-sdk-" + Guid.NewGuid(), tq) { RequestEagerStart = true });
            Assert.Equal("Hello, eager!", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));

            var history = (await handle.FetchHistoryAsync()).Events.ToList();
            var started = history[0].WorkflowExecutionStartedEventAttributes;
            Assert.True(started.EagerExecutionAccepted);
            var firstTask = history[2];
            Assert.Equal(EventType.WorkflowTaskStarted, firstTask.EventType);
            Assert.Equal("eager-starter", firstTask.WorkflowTaskStartedEventAttributes.Identity); // not the poller's
            Assert.Equal(EventType.WorkflowTaskCompleted, history[3].EventType); // completed from the inline copy, no timeout and retry
        });
    }

    [Fact]
    public async Task Raw_TheResponseCarriesTheStartedTask_AndARetryGetsItAgain()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "eager-raw-" + Guid.NewGuid();
        var request = EagerRequest(id, tq);
        var response = await StartAsync(request);

        var task = response.EagerWorkflowTask;
        Assert.NotNull(task);
        Assert.True(response.Started);
        Assert.Equal(response.RunId, task.WorkflowExecution.RunId);
        Assert.Equal(
            [EventType.WorkflowExecutionStarted, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted],
            task.History.Events.Select(e => e.EventType));
        Assert.Equal(3, task.StartedEventId);
        Assert.Equal(0, task.PreviousStartedEventId);
        Assert.Equal(1, task.Attempt);
        Assert.Equal(tq, task.WorkflowExecutionTaskQueue.Name);
        var startedEvent = task.History.Events[2].WorkflowTaskStartedEventAttributes;
        Assert.Equal("eager-starter", startedEvent.Identity);
        Assert.Equal(request.RequestId, startedEvent.RequestId);

        // The task is not in the queue: a poller finds nothing.
        var poll = await Raw.Service.PollWorkflowTaskQueueAsync(
            new PollWorkflowTaskQueueRequest { Namespace = "default", TaskQueue = new() { Name = tq }, Identity = "poller" },
            new() { Timeout = TimeSpan.FromSeconds(2) });
        Assert.True(poll.TaskToken.IsEmpty);

        // A retried request (same request id) is answered as the first: the same run and the same running task.
        var retried = await StartAsync(request);
        Assert.Equal(response.RunId, retried.RunId);
        Assert.Equal(task.TaskToken, retried.EagerWorkflowTask?.TaskToken);

        await Raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
        var history = await Raw.HistoryAsync(id);
        Assert.Equal(EventType.WorkflowExecutionCompleted, history[^1].EventType);

        // Once that task is done a retry gets no task back.
        var late = await StartAsync(request);
        Assert.Equal(response.RunId, late.RunId);
        Assert.Null(late.EagerWorkflowTask);
    }

    [Fact]
    public async Task Raw_AStartDelay_IsNotEager_AndTheTaskGoesThroughMatchingLater()
    {
        var request = EagerRequest("eager-delay-" + Guid.NewGuid(), ServerFixture.NewTaskQueue());
        request.WorkflowStartDelay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromHours(1));
        var response = await StartAsync(request);
        Assert.True(response.Started);
        Assert.Null(response.EagerWorkflowTask);
        var history = await Raw.HistoryAsync(request.WorkflowId);
        Assert.False(history[0].WorkflowExecutionStartedEventAttributes.EagerExecutionAccepted);
    }

    [Fact]
    public async Task Raw_UsingTheRunningWorkflow_IsNotEager_ReplacingItIs()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "eager-conflict-" + Guid.NewGuid();
        var first = await Raw.StartAsync(id, tq);

        var useExisting = EagerRequest(id, tq);
        useExisting.WorkflowIdConflictPolicy = WorkflowIdConflictPolicy.UseExisting;
        var used = await StartAsync(useExisting);
        Assert.False(used.Started);
        Assert.Equal(first.RunId, used.RunId);
        Assert.Null(used.EagerWorkflowTask);

        var terminateExisting = EagerRequest(id, tq);
        terminateExisting.WorkflowIdConflictPolicy = WorkflowIdConflictPolicy.TerminateExisting;
        var replaced = await StartAsync(terminateExisting);
        Assert.True(replaced.Started);
        Assert.NotEqual(first.RunId, replaced.RunId);
        Assert.Equal(replaced.RunId, replaced.EagerWorkflowTask?.WorkflowExecution.RunId);
    }

    [Fact]
    public async Task Raw_UpdateWithStart_RefusesAnEagerStart_WithTemporalsText()
    {
        var request = new ExecuteMultiOperationRequest
        {
            Namespace = "default",
            Operations =
            {
                new ExecuteMultiOperationRequest.Types.Operation { StartWorkflow = EagerRequest("eager-uws-" + Guid.NewGuid(), ServerFixture.NewTaskQueue()) },
                new ExecuteMultiOperationRequest.Types.Operation
                {
                    UpdateWorkflow = new UpdateWorkflowExecutionRequest
                    {
                        Namespace = "default",
                        Request = new() { Meta = new() { UpdateId = "u" }, Input = new() { Name = "add" } },
                    },
                },
            },
        };
        request.Operations[1].UpdateWorkflow.WorkflowExecution = new() { WorkflowId = request.Operations[0].StartWorkflow.WorkflowId };
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.ExecuteMultiOperationAsync(request));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        var statuses = error.GrpcStatus.Value!.Details.Single().Unpack<Temporalio.Api.ErrorDetails.V1.MultiOperationExecutionFailure>().Statuses;
        Assert.Equal("RequestEagerExecution is not supported.", statuses[0].Message);
    }

    [Fact]
    public async Task DynamicConfigOff_IgnoresTheRequest_AndTheNamespaceSaysSo()
    {
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.DynamicConfig["system.enableEagerWorkflowStart"] = "false";
        await using var server = await BastionServer.StartAsync(options);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var raw = new RawDriver(client);

        var described = await raw.Service.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "default" });
        Assert.False(described.NamespaceInfo.Capabilities.EagerWorkflowStart);

        var tq = ServerFixture.NewTaskQueue();
        var response = await StartAsync(server.Address, EagerRequest("eager-off-" + Guid.NewGuid(), tq));
        Assert.True(response.Started);
        Assert.Null(response.EagerWorkflowTask);
        var task = await raw.PollWorkflowTaskAsync(tq); // through matching, as any start
        Assert.Equal(response.RunId, task.WorkflowExecution.RunId);
    }

    [Fact]
    public async Task ByDefault_TheNamespaceReportsEagerStart()
    {
        var described = await Raw.Service.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "default" });
        Assert.True(described.NamespaceInfo.Capabilities.EagerWorkflowStart);
    }
}
