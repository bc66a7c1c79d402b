using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Batch operations through the SDK's raw service client, as the CLI drives them (start, then poll describe), on
/// workflows started and run with the SDK. Each test works in a namespace of its own (one running batch per
/// namespace is Temporal's default limit).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class BatchOperationTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class AwaitsSignal
    {
        private string? _value;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _value != null);
            return _value!;
        }

        [WorkflowSignal]
        public Task NudgeAsync(string value)
        {
            _value = value;
            return Task.CompletedTask;
        }
    }

    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    private async Task<string> NewNamespaceAsync()
    {
        var name = "batch-" + Guid.NewGuid().ToString("N")[..10];
        await Service.RegisterNamespaceAsync(new() { Namespace = name, WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        return name;
    }

    /// <summary>Starts runs no worker will ever pick up (a batch needs none to terminate or signal them).</summary>
    internal static async Task<List<string>> StartIdleAsync(Temporalio.Client.WorkflowService service, string ns, string type, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var id = $"{type}-{i}-{Guid.NewGuid():N}";
            await service.StartWorkflowExecutionAsync(new()
            {
                Namespace = ns,
                WorkflowId = id,
                WorkflowType = new WorkflowType { Name = type },
                TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
                RequestId = Guid.NewGuid().ToString(),
            });
            ids.Add(id);
        }

        return ids;
    }

    /// <summary>Polls describe (bounded) until the job is no longer running.</summary>
    internal static async Task<DescribeBatchOperationResponse> WaitDoneAsync(Temporalio.Client.WorkflowService service, string ns, string jobId)
    {
        for (var i = 0; i < 600; i++)
        {
            var described = await service.DescribeBatchOperationAsync(new() { Namespace = ns, JobId = jobId });
            if (described.State != BatchOperationState.Running)
            {
                return described;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"batch {jobId} still running");
    }

    private async Task<WorkflowExecutionStatus> StatusAsync(string ns, string workflowId) =>
        (await Service.DescribeWorkflowExecutionAsync(new() { Namespace = ns, Execution = new() { WorkflowId = workflowId } })).WorkflowExecutionInfo.Status;

    [Fact]
    public async Task TerminateByQuery_TerminatesEveryMatch_AndReportsProgress()
    {
        var ns = await NewNamespaceAsync();
        var targets = await StartIdleAsync(Service, ns, "BatchTerminate", 5);
        var bystanders = await StartIdleAsync(Service, ns, "BatchBystander", 2);

        await Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "terminate-job",
            Reason = "cleanup",
            VisibilityQuery = "WorkflowType = 'BatchTerminate'",
            TerminationOperation = new() { Identity = "batch-tester" },
        });
        var done = await WaitDoneAsync(Service, ns, "terminate-job");

        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal("terminate-job", done.JobId);
        Assert.Equal("cleanup", done.Reason);
        Assert.Equal("batch-tester", done.Identity);
        Assert.Equal("WorkflowType = 'BatchTerminate'", done.Query);
#pragma warning disable CS0612 // The API version's only name for it.
        Assert.Equal(BatchOperationType.Terminate, done.OperationType);
#pragma warning restore CS0612
        Assert.Equal(5, done.TotalOperationCount);
        Assert.Equal(5, done.CompleteOperationCount);
        Assert.Equal(0, done.FailureOperationCount);
        Assert.NotNull(done.StartTime);
        Assert.NotNull(done.CloseTime);
        foreach (var id in targets)
        {
            Assert.Equal(WorkflowExecutionStatus.Terminated, await StatusAsync(ns, id));
            var history = await Service.GetWorkflowExecutionHistoryAsync(new() { Namespace = ns, Execution = new() { WorkflowId = id } });
            var terminated = history.History.Events[^1].WorkflowExecutionTerminatedEventAttributes;
            Assert.Equal("cleanup", terminated.Reason);
            Assert.Equal("batch-tester", terminated.Identity);
        }

        foreach (var id in bystanders)
        {
            Assert.Equal(WorkflowExecutionStatus.Running, await StatusAsync(ns, id));
        }

        var listed = await Service.ListBatchOperationsAsync(new() { Namespace = ns });
        var info = Assert.Single(listed.OperationInfo);
        Assert.Equal("terminate-job", info.JobId);
        Assert.Equal(BatchOperationState.Completed, info.State);
        Assert.NotNull(info.CloseTime);

        var again = await Assert.ThrowsAsync<RpcException>(() => Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "terminate-job",
            Reason = "again",
            VisibilityQuery = "WorkflowType = 'BatchBystander'",
            TerminationOperation = new(),
        }));
        Assert.Equal(RpcException.StatusCode.AlreadyExists, again.Code);
    }

    [Fact]
    public async Task SignalByQuery_WorkflowsSeeTheSignal()
    {
        var ns = await NewNamespaceAsync();
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = ns });
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<AwaitsSignal>());
        await worker.ExecuteAsync(async () =>
        {
            var handles = new List<WorkflowHandle<AwaitsSignal, string>>();
            for (var i = 0; i < 3; i++)
            {
                handles.Add(await client.StartWorkflowAsync((AwaitsSignal wf) => wf.RunAsync(), new($"signal-{i}-{Guid.NewGuid():N}", taskQueue)));
            }

            var input = client.Options.DataConverter.PayloadConverter.ToPayload("from the batch");
            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = ns,
                JobId = "signal-job",
                Reason = "nudge them",
                VisibilityQuery = "WorkflowType = 'AwaitsSignal'",
                SignalOperation = new() { Signal = "Nudge", Input = new Payloads { Payloads_ = { input } }, Identity = "batch-tester" },
            });

            foreach (var handle in handles)
            {
                Assert.Equal("from the batch", await handle.GetResultAsync());
            }

            var done = await WaitDoneAsync(client.WorkflowService, ns, "signal-job");
            Assert.Equal(BatchOperationState.Completed, done.State);
            Assert.Equal(3, done.CompleteOperationCount);
        }).WaitAsync(TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task CancelByExecutions_CancelsTheListedRuns()
    {
        var ns = await NewNamespaceAsync();
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = ns });
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<AwaitsSignal>());
        await worker.ExecuteAsync(async () =>
        {
            var first = await client.StartWorkflowAsync((AwaitsSignal wf) => wf.RunAsync(), new("cancel-a-" + Guid.NewGuid().ToString("N"), taskQueue));
            var second = await client.StartWorkflowAsync((AwaitsSignal wf) => wf.RunAsync(), new("cancel-b-" + Guid.NewGuid().ToString("N"), taskQueue));
            var untouched = await client.StartWorkflowAsync((AwaitsSignal wf) => wf.RunAsync(), new("cancel-c-" + Guid.NewGuid().ToString("N"), taskQueue));

            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = ns,
                JobId = "cancel-job",
                Reason = "not needed",
                TargetExecutions =
                {
                    new Execution { Type = ExecutionType.Workflow, BusinessId = first.Id },
                    new Execution { Type = ExecutionType.Workflow, BusinessId = second.Id, RunId = second.ResultRunId },
                },
                CancellationOperation = new() { Identity = "batch-tester" },
            });

            foreach (var handle in new[] { first, second })
            {
                var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
                Assert.IsType<CanceledFailureException>(failure.InnerException);
            }

            var done = await WaitDoneAsync(client.WorkflowService, ns, "cancel-job");
            Assert.Equal(BatchOperationState.Completed, done.State);
            Assert.Equal(2, done.TotalOperationCount);
            Assert.Equal(2, done.CompleteOperationCount);
            Assert.Equal(2, done.Executions.Count);
            Assert.Equal(WorkflowExecutionStatus.Running, (await untouched.DescribeAsync()).Status);
            await untouched.SignalAsync(wf => wf.NudgeAsync("done"));
            Assert.Equal("done", await untouched.GetResultAsync());
        }).WaitAsync(TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task DeleteByQuery_RemovesClosedAndRunningRuns()
    {
        var ns = await NewNamespaceAsync();
        var ids = await StartIdleAsync(Service, ns, "BatchDelete", 4);
        await Service.TerminateWorkflowExecutionAsync(new() { Namespace = ns, WorkflowExecution = new() { WorkflowId = ids[0] }, Reason = "closed first" });

        await Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "delete-job",
            Reason = "purge",
            VisibilityQuery = "WorkflowType = 'BatchDelete'",
            DeletionOperation = new(),
        });
        var done = await WaitDoneAsync(Service, ns, "delete-job");

        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal(4, done.CompleteOperationCount);
        Assert.Equal(0, (await Service.CountWorkflowExecutionsAsync(new() { Namespace = ns, Query = "WorkflowType = 'BatchDelete'" })).Count);
        var gone = await Assert.ThrowsAsync<RpcException>(() => StatusAsync(ns, ids[1]));
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
    }

    [Fact]
    public async Task Stop_EndsARunningBatch_Failed_WithItsProgress()
    {
        var ns = await NewNamespaceAsync();
        await StartIdleAsync(Service, ns, "BatchSlow", 10);
        await Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "slow-job",
            Reason = "slowly",
            VisibilityQuery = "WorkflowType = 'BatchSlow'",
            TerminationOperation = new(),
            MaxOperationsPerSecond = 1,
        });

        // One running batch per namespace (Temporal's default).
        var second = await Assert.ThrowsAsync<RpcException>(() => Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "second-job",
            Reason = "too many",
            VisibilityQuery = "WorkflowType = 'BatchSlow'",
            TerminationOperation = new(),
        }));
        Assert.Equal(RpcException.StatusCode.ResourceExhausted, second.Code);

        DescribeBatchOperationResponse running;
        var polls = 0;
        do
        {
            await Task.Delay(50);
            running = await Service.DescribeBatchOperationAsync(new() { Namespace = ns, JobId = "slow-job" });
        }
        while (running.CompleteOperationCount == 0 && ++polls < 400);
        Assert.Equal(BatchOperationState.Running, running.State);
        Assert.Equal(10, running.TotalOperationCount);
        Assert.InRange(running.CompleteOperationCount, 1, 9);

        await Service.StopBatchOperationAsync(new() { Namespace = ns, JobId = "slow-job", Reason = "enough", Identity = "batch-tester" });
        var stopped = await Service.DescribeBatchOperationAsync(new() { Namespace = ns, JobId = "slow-job" });
        Assert.Equal(BatchOperationState.Failed, stopped.State);
        Assert.NotNull(stopped.CloseTime);
        var terminated = (await Service.CountWorkflowExecutionsAsync(new() { Namespace = ns, Query = "WorkflowType = 'BatchSlow' AND ExecutionStatus = 'Terminated'" })).Count;
        Assert.Equal(stopped.CompleteOperationCount, terminated);
        Assert.True(terminated < 10);

        var stopAgain = await Assert.ThrowsAsync<RpcException>(() => Service.StopBatchOperationAsync(new() { Namespace = ns, JobId = "slow-job", Reason = "again" }));
        Assert.Equal(RpcException.StatusCode.NotFound, stopAgain.Code);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { "no-job-id", "JobId is not set on request." },
        { "no-reason", "Reason is not set on request." },
        { "no-selection", "VisibilityQuery, Executions, or TargetExecutions must be set on request." },
        { "both-selections", "visibility query, executions, and target executions are mutually exclusive" },
        { "bad-query", "at position" },
        { "no-operation", "Batch operation is not set on request." },
        { "reset", "unknown batch reset type" },
        { "reset-no-target", "batch reset missing target" },
        { "reset-build-id", "A batch reset to a build id is not supported" },
        { "reset-post-operations", "PostResetOperations are not supported" },
        { "update-options-no-mask", "must provide UpdateMask" },
        { "unpause-no-filter", "activity filter must be set" },
        { "reset-activities-empty-type", "Either activity type must be set, or match all should be set to true" },
        { "activity-options-and-restore", "cannot set both activity options and restore original" },
        { "no-signal-name", "SignalOperation.Signal is not set on request." },
        { "activity-query-syntax", "at position" },
        // A standalone-activity job selects through the activity visibility, where workflow attributes do not exist.
        { "activity-query-workflow-attribute", "unknown search attribute 'WorkflowType'" },
        { "activity-workflow-target", "target_executions[0] has type Workflow" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequest_IsInvalidArgument_NamingTheProblem(string problem, string message)
    {
        var request = new StartBatchOperationRequest
        {
            Namespace = "default",
            JobId = "bad-" + Guid.NewGuid().ToString("N"),
            Reason = "because",
            VisibilityQuery = "WorkflowType = 'Nothing'",
            TerminationOperation = new(),
        };
        switch (problem)
        {
            case "no-job-id": request.JobId = string.Empty; break;
            case "no-reason": request.Reason = string.Empty; break;
            case "no-selection": request.VisibilityQuery = string.Empty; break;
            case "both-selections": request.TargetExecutions.Add(new Execution { Type = ExecutionType.Workflow, BusinessId = "x" }); break;
            case "bad-query": request.VisibilityQuery = "WorkflowType = "; break;
            case "no-operation": request.ClearOperation(); break;
            case "reset": request.ResetOperation = new(); break;
            case "reset-no-target": request.ResetOperation = new() { Options = new() }; break;
            case "reset-build-id": request.ResetOperation = new() { Options = new() { BuildId = "b1" } }; break;
            case "reset-post-operations":
                request.ResetOperation = new() { Options = new() { FirstWorkflowTask = new() } };
                request.ResetOperation.PostResetOperations.Add(new Temporalio.Api.Workflow.V1.PostResetOperation());
                break;
            case "update-options-no-mask": request.UpdateWorkflowOptionsOperation = new() { WorkflowExecutionOptions = new() }; break;
            case "unpause-no-filter": request.UnpauseActivitiesOperation = new(); break;
            case "reset-activities-empty-type": request.ResetActivitiesOperation = new() { Type = string.Empty }; break;
            case "activity-options-and-restore": request.UpdateActivityOptionsOperation = new() { ActivityOptions = new(), RestoreOriginal = true, MatchAll = true }; break;
            case "no-signal-name": request.SignalOperation = new() { Input = new() }; break;
            case "activity-query-syntax":
                request.TerminateActivitiesOperation = new() { Reason = "because" };
                request.VisibilityQuery = "ActivityType = ";
                break;
            case "activity-query-workflow-attribute":
                request.TerminateActivitiesOperation = new() { Reason = "because" };
                request.VisibilityQuery = "WorkflowType = 'x'";
                break;
            case "activity-workflow-target":
                request.CancelActivitiesOperation = new();
                request.VisibilityQuery = string.Empty;
                request.TargetExecutions.Add(new Execution { Type = ExecutionType.Workflow, BusinessId = "wf" });
                break;
            default: throw new ArgumentException(problem);
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Service.StartBatchOperationAsync(request));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeUnknownJob_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Service.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "no-such-job" }));
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
    }
}
