using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>
/// Batch operations on standalone activities (terminate, cancel, delete activities): selected through the activity
/// visibility or an explicit list of activity targets, applied through the engine's standalone-activity paths,
/// reported with Temporal's activity batch types. Activities are started with no worker, so they stay running.
/// Each test works in a namespace of its own (one running batch per namespace).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class BatchStandaloneActivityTests(ServerFixture fixture)
{
    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    private async Task<string> NewNamespaceAsync()
    {
        var name = "sabatch-" + Guid.NewGuid().ToString("N")[..10];
        await Service.RegisterNamespaceAsync(new() { Namespace = name, WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        return name;
    }

    /// <summary>Starts standalone activities of a type no worker polls for, and waits until the activity list shows them.</summary>
    internal static async Task<List<(string Id, string RunId)>> StartIdleActivitiesAsync(Temporalio.Client.WorkflowService service, string ns, string type, int count)
    {
        var started = new List<(string, string)>();
        for (var i = 0; i < count; i++)
        {
            var id = $"{type}-{i}-{Guid.NewGuid():N}";
            var response = await service.StartActivityExecutionAsync(new()
            {
                Namespace = ns,
                ActivityId = id,
                ActivityType = new() { Name = type },
                TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
                StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
                RequestId = Guid.NewGuid().ToString(),
            });
            started.Add((id, response.RunId));
        }

        Assert.True(await Eventually.HoldsAsync(async () =>
            (await service.CountActivityExecutionsAsync(new() { Namespace = ns, Query = $"ActivityType = '{type}'" })).Count == count));
        return started;
    }

    private async Task<DescribeActivityExecutionResponse> DescribeAsync(string ns, string id) =>
        await Service.DescribeActivityExecutionAsync(new() { Namespace = ns, ActivityId = id, IncludeOutcome = true });

    private async Task<BatchOperationType> ListedTypeAsync(string ns, string jobId) =>
        (await Service.ListBatchOperationsAsync(new() { Namespace = ns })).OperationInfo.Single(o => o.JobId == jobId).OperationType;

    [Fact]
    public async Task TerminateByQuery_TerminatesEveryRunningMatch_WithTheOperationsReasonAndIdentity()
    {
        var ns = await NewNamespaceAsync();
        var targets = await StartIdleActivitiesAsync(Service, ns, "SaTerminate", 3);
        var bystander = (await StartIdleActivitiesAsync(Service, ns, "SaBystander", 1))[0];

        await Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "terminate-activities",
            Reason = "job reason",
            VisibilityQuery = "ActivityType = 'SaTerminate'",
            TerminateActivitiesOperation = new() { Identity = "batch-terminator", Reason = "stuck" },
        });
        var done = await BatchOperationTests.WaitDoneAsync(Service, ns, "terminate-activities");

        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal(BatchOperationType.TerminateActivity, done.OperationType);
        Assert.Equal(BatchOperationType.TerminateActivity, await ListedTypeAsync(ns, "terminate-activities"));
        Assert.Equal(("batch-terminator", "ActivityType = 'SaTerminate'"), (done.Identity, done.Query));
        Assert.Equal((3L, 3L, 0L), (done.TotalOperationCount, done.CompleteOperationCount, done.FailureOperationCount));
        foreach (var (id, _) in targets)
        {
            var described = await DescribeAsync(ns, id);
            Assert.Equal(ActivityExecutionStatus.Terminated, described.Info.Status);
            Assert.Equal("stuck", described.Outcome.Failure.Message);
            Assert.Equal("batch-terminator", described.Outcome.Failure.TerminatedFailureInfo.Identity);
        }

        Assert.Equal(ActivityExecutionStatus.Running, (await DescribeAsync(ns, bystander.Id)).Info.Status);

        // Terminate selects only running (or paused) activities: a second job over the same query finds none.
        await Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "terminate-again",
            Reason = "again",
            VisibilityQuery = "ActivityType = 'SaTerminate'",
            TerminateActivitiesOperation = new() { Reason = "again" },
        });
        var again = await BatchOperationTests.WaitDoneAsync(Service, ns, "terminate-again");
        Assert.Equal((BatchOperationState.Completed, 0L, 0L), (again.State, again.CompleteOperationCount, again.FailureOperationCount));
    }

    [Fact]
    public async Task CancelByTargetExecutions_CancelsEachNamedActivity()
    {
        var ns = await NewNamespaceAsync();
        var targets = await StartIdleActivitiesAsync(Service, ns, "SaCancel", 3);
        var request = new StartBatchOperationRequest
        {
            Namespace = ns,
            JobId = "cancel-activities",
            Reason = "job reason",
            CancelActivitiesOperation = new() { Identity = "batch-canceler", Reason = "not needed" },
        };
        foreach (var (id, runId) in targets)
        {
            request.TargetExecutions.Add(new Execution { Type = ExecutionType.Activity, BusinessId = id, RunId = runId });
        }

        await Service.StartBatchOperationAsync(request);
        var done = await BatchOperationTests.WaitDoneAsync(Service, ns, "cancel-activities");

        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal(BatchOperationType.CancelActivity, done.OperationType);
        Assert.Equal(BatchOperationType.CancelActivity, await ListedTypeAsync(ns, "cancel-activities"));
        Assert.Equal("batch-canceler", done.Identity);
        Assert.Equal((3L, 3L, 0L), (done.TotalOperationCount, done.CompleteOperationCount, done.FailureOperationCount));
        Assert.Equal(request.TargetExecutions, done.Executions);
        foreach (var (id, _) in targets)
        {
            // No attempt runs (no worker), so the cancel request cancels at once.
            var described = await DescribeAsync(ns, id);
            Assert.Equal(ActivityExecutionStatus.Canceled, described.Info.Status);
            Assert.Equal("not needed", described.Info.CanceledReason);
        }
    }

    [Fact]
    public async Task DeleteByQuery_DeletesRunningAndClosedActivities()
    {
        var ns = await NewNamespaceAsync();
        var targets = await StartIdleActivitiesAsync(Service, ns, "SaDelete", 3);
        var bystander = (await StartIdleActivitiesAsync(Service, ns, "SaKeep", 1))[0];
        await Service.TerminateActivityExecutionAsync(new() { Namespace = ns, ActivityId = targets[0].Id, Reason = "closed first", RequestId = Guid.NewGuid().ToString() });

        await Service.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "delete-activities",
            Reason = "cleanup",
            VisibilityQuery = "ActivityType = 'SaDelete'",
            DeleteActivitiesOperation = new(),
        });
        var done = await BatchOperationTests.WaitDoneAsync(Service, ns, "delete-activities");

        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal(BatchOperationType.DeleteActivity, done.OperationType);
        Assert.Equal(BatchOperationType.DeleteActivity, await ListedTypeAsync(ns, "delete-activities"));
        Assert.Equal((3L, 3L, 0L), (done.TotalOperationCount, done.CompleteOperationCount, done.FailureOperationCount));
        foreach (var (id, _) in targets)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => DescribeAsync(ns, id));
            Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
        }

        Assert.Equal(ActivityExecutionStatus.Running, (await DescribeAsync(ns, bystander.Id)).Info.Status);
    }
}
