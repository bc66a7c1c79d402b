using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>
/// PauseActivityExecution, UnpauseActivityExecution, ResetActivityExecution and UpdateActivityExecutionOptions
/// (issue 21) on a standalone activity, through the raw service client: the same operations as a workflow's activity
/// gets, shown by DescribeActivityExecution.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ActivityExecutionOperationTests(ServerFixture fixture)
{
    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    private string Ns => fixture.Client.Options.Namespace;

    /// <summary>A standalone activity on a queue no worker polls: it stays scheduled for the test to act on.</summary>
    private async Task<string> StartIdleActivityAsync()
    {
        var id = "sa-op-" + Guid.NewGuid();
        await Service.StartActivityExecutionAsync(new()
        {
            Namespace = Ns,
            ActivityId = id,
            ActivityType = new() { Name = "Idle" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
            RequestId = Guid.NewGuid().ToString(),
        });
        return id;
    }

    private async Task<Temporalio.Api.Activity.V1.ActivityExecutionInfo> DescribeAsync(string id) =>
        (await Service.DescribeActivityExecutionAsync(new() { Namespace = Ns, ActivityId = id })).Info;

    [Fact]
    public async Task StandaloneActivity_PausedUnpausedResetAndUpdated()
    {
        var id = await StartIdleActivityAsync();
        await Service.PauseActivityExecutionAsync(new() { Namespace = Ns, ActivityId = id, Identity = "operator-olga", Reason = "hold", RequestId = "p1" });
        var paused = await DescribeAsync(id);
        Assert.Equal((ActivityExecutionStatus.Paused, PendingActivityState.Paused), (paused.Status, paused.RunState));
        Assert.True(await Eventually.HoldsAsync(async () => (await fixture.Client.CountActivitiesAsync($"ActivityId = '{id}' AND ExecutionStatus = 'Paused'")).Count == 1));

        // A retried request is a no-op; another pause of the paused activity is refused.
        await Service.PauseActivityExecutionAsync(new() { Namespace = Ns, ActivityId = id, RequestId = "p1" });
        var again = await Assert.ThrowsAsync<RpcException>(() => Service.PauseActivityExecutionAsync(new() { Namespace = Ns, ActivityId = id, RequestId = "p2" }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, again.Code);

        await Service.UnpauseActivityExecutionAsync(new() { Namespace = Ns, ActivityId = id });
        var unpaused = await DescribeAsync(id);
        Assert.Equal((ActivityExecutionStatus.Running, PendingActivityState.Scheduled), (unpaused.Status, unpaused.RunState));

        await Service.ResetActivityExecutionAsync(new() { Namespace = Ns, ActivityId = id, ResetHeartbeat = true });
        Assert.Equal(1, (await DescribeAsync(id)).Attempt);

        var updated = await Service.UpdateActivityExecutionOptionsAsync(new()
        {
            Namespace = Ns,
            ActivityId = id,
            ActivityOptions = new() { StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(42)) },
            UpdateMask = new FieldMask { Paths = { "start_to_close_timeout" } },
        });
        Assert.Equal(TimeSpan.FromSeconds(42), updated.ActivityOptions.StartToCloseTimeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromSeconds(42), (await DescribeAsync(id)).StartToCloseTimeout.ToTimeSpan());
    }

    [Fact]
    public async Task BadRequests_AreInvalidArgumentOrNotFound_WithTemporalsTexts()
    {
        var noId = await Assert.ThrowsAsync<RpcException>(() => Service.PauseActivityExecutionAsync(new() { Namespace = Ns }));
        Assert.Equal((RpcException.StatusCode.InvalidArgument, "activity ID is required"), (noId.Code, noId.Message));

        var badRun = await Assert.ThrowsAsync<RpcException>(() => Service.ResetActivityExecutionAsync(new() { Namespace = Ns, ActivityId = "x", RunId = "not-a-uuid" }));
        Assert.Equal((RpcException.StatusCode.InvalidArgument, "invalid run id: must be a valid UUID"), (badRun.Code, badRun.Message));

        var unknown = await Assert.ThrowsAsync<RpcException>(() => Service.UnpauseActivityExecutionAsync(new() { Namespace = Ns, ActivityId = "no-such-" + Guid.NewGuid() }));
        Assert.Equal(RpcException.StatusCode.NotFound, unknown.Code);

        // A workflow id names that workflow's activity: none pending is NOT_FOUND, as PauseActivity answers.
        var workflowId = (await BatchOperationTests.StartIdleAsync(Service, Ns, "NoActivities", 1))[0];
        var none = await Assert.ThrowsAsync<RpcException>(() => Service.PauseActivityExecutionAsync(new() { Namespace = Ns, WorkflowId = workflowId, ActivityId = "a" }));
        Assert.Equal(RpcException.StatusCode.NotFound, none.Code);

        var id = await StartIdleActivityAsync();
        var noMask = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateActivityExecutionOptionsAsync(new() { Namespace = Ns, ActivityId = id, ActivityOptions = new() }));
        Assert.Equal((RpcException.StatusCode.InvalidArgument, "UpdateMask is not provided"), (noMask.Code, noMask.Message));
        var emptyMask = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateActivityExecutionOptionsAsync(new() { Namespace = Ns, ActivityId = id, ActivityOptions = new(), UpdateMask = new() }));
        Assert.Equal((RpcException.StatusCode.InvalidArgument, "UpdateMask must specify at least one path"), (emptyMask.Code, emptyMask.Message));
    }
}
