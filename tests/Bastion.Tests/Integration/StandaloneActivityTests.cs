using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Standalone activities (issue 21) driven by the official SDK: started by the client, run by a normal worker of
/// the task queue, described, polled for their outcome, canceled, terminated, retried, listed and deleted; kept
/// apart from workflows and from other namespaces.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StandaloneActivityTests(ServerFixture fixture)
{
    private static readonly RetryPolicy s_fastRetry = new() { InitialInterval = TimeSpan.FromMilliseconds(100), BackoffCoefficient = 1 };

    public sealed class Activities
    {
        private int _flakyCalls;

        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        [Activity]
        public static Task<string> EchoAsync(string input) => Task.FromResult("echo:" + input);

        [Activity]
        public Task<string> FailOnceAsync() => Interlocked.Increment(ref _flakyCalls) == 1 ? throw new ApplicationFailureException("first attempt fails") : Task.FromResult("second attempt");

        [Activity]
        public static Task<string> FailForGoodAsync() => throw new ApplicationFailureException("bad input", nonRetryable: true);

        [Activity]
        public async Task WaitForCancelAsync()
        {
            var ctx = ActivityExecutionContext.Current;
            Waiting.TrySetResult();
            while (true)
            {
                ctx.Heartbeat();
                await Task.Delay(100, ctx.CancellationToken);
            }
        }
    }

    [Workflow]
    public sealed class Named
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("a workflow");
    }

    private static StartActivityOptions Options(string id, string taskQueue, Action<StartActivityOptions>? configure = null)
    {
        var options = new StartActivityOptions(id, taskQueue) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) };
        configure?.Invoke(options);
        return options;
    }

    [Fact]
    public async Task Started_RunByTheWorker_DescribedPolledListedAndCounted()
    {
        await fixture.WithWorkerAsync(o => o.AddActivity(Activities.EchoAsync), async tq =>
        {
            var id = "sa-" + Guid.NewGuid();
            var handle = await fixture.Client.StartActivityAsync(() => Activities.EchoAsync("hi"), Options(id, tq));
            Assert.Equal("echo:hi", await handle.GetResultAsync());

            var described = await handle.DescribeAsync();
            Assert.Equal((ActivityExecutionStatus.Completed, id, "Echo", tq, 1), (described.Status, described.ActivityId, described.ActivityType, described.TaskQueue, described.Attempt));
            Assert.NotNull(described.CloseTime);

            var listed = new List<ActivityExecution>();
            await foreach (var activity in fixture.Client.ListActivitiesAsync($"ActivityId = '{id}' AND ExecutionStatus = 'Completed'"))
            {
                listed.Add(activity);
            }

            Assert.Equal(handle.RunId, Assert.Single(listed).ActivityRunId);
            Assert.Equal(1, (await fixture.Client.CountActivitiesAsync($"TaskQueue = '{tq}' AND ActivityType = 'Echo'")).Count);
        });
    }

    [Fact]
    public async Task ActivityIds_AreASpaceApartFromWorkflowIds_AndWorkflowListsLeaveActivitiesOut()
    {
        await fixture.WithWorkerAsync(o => o.AddActivity(Activities.EchoAsync).AddWorkflow<Named>(), async tq =>
        {
            var id = "shared-" + Guid.NewGuid();
            Assert.Equal("a workflow", await fixture.Client.ExecuteWorkflowAsync((Named wf) => wf.RunAsync(), new(id, tq)));
            Assert.Equal("echo:x", await fixture.Client.ExecuteActivityAsync(() => Activities.EchoAsync("x"), Options(id, tq)));

            Assert.Equal(1, (await fixture.Client.CountWorkflowsAsync($"TaskQueue = '{tq}'")).Count);
            await foreach (var workflow in fixture.Client.ListWorkflowsAsync($"TaskQueue = '{tq}'"))
            {
                Assert.Equal("Named", workflow.WorkflowType);
            }

            Assert.Equal(1, (await fixture.Client.CountActivitiesAsync($"TaskQueue = '{tq}'")).Count);

            // The activity's run is not a workflow: no workflow call reaches it through the reserved id space.
            var reserved = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.StartWorkflowAsync((Named wf) => wf.RunAsync(), new("\u001fstandalone-activity\u001f" + id, tq)));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, reserved.Code);
        });
    }

    [Fact]
    public async Task FailedAttempt_IsRetried_AndANonRetryableFailureIsTheOutcome()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddActivity(activities.FailOnceAsync).AddActivity(Activities.FailForGoodAsync), async tq =>
        {
            var flaky = await fixture.Client.StartActivityAsync("FailOnce", [], Options("sa-" + Guid.NewGuid(), tq, o => o.RetryPolicy = s_fastRetry));
            Assert.Equal("second attempt", await flaky.GetResultAsync<string>());
            Assert.Equal(2, (await flaky.DescribeAsync()).Attempt);

            var failing = await fixture.Client.StartActivityAsync(() => Activities.FailForGoodAsync(), Options("sa-" + Guid.NewGuid(), tq));
            var error = await Assert.ThrowsAsync<ActivityFailedException>(() => failing.GetResultAsync());
            Assert.Equal("bad input", Assert.IsType<ApplicationFailureException>(error.InnerException).Message);
            Assert.Equal(ActivityExecutionStatus.Failed, (await failing.DescribeAsync()).Status);
        });
    }

    [Fact]
    public async Task StartToCloseTimeout_WithoutRetries_TimesTheActivityOut()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddActivity(activities.WaitForCancelAsync), async tq =>
        {
            var handle = await fixture.Client.StartActivityAsync(
                "WaitForCancel",
                [],
                new("sa-" + Guid.NewGuid(), tq) { StartToCloseTimeout = TimeSpan.FromSeconds(1), RetryPolicy = new() { MaximumAttempts = 1 } });
            var error = await Assert.ThrowsAsync<ActivityFailedException>(() => handle.GetResultAsync());
            Assert.Equal(TimeoutType.StartToClose, Assert.IsType<TimeoutFailureException>(error.InnerException).TimeoutType);
            Assert.Equal(ActivityExecutionStatus.TimedOut, (await handle.DescribeAsync()).Status);
        });
    }

    [Fact]
    public async Task CancelRequest_ReachesTheRunningWorker_AndTheOutcomeIsCanceled()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddActivity(activities.WaitForCancelAsync), async tq =>
        {
            var handle = await fixture.Client.StartActivityAsync("WaitForCancel", [], Options("sa-" + Guid.NewGuid(), tq, o => o.HeartbeatTimeout = TimeSpan.FromSeconds(10)));
            await activities.Waiting.Task;
            await handle.CancelAsync(new() { Reason = "no longer needed" });

            var error = await Assert.ThrowsAsync<ActivityFailedException>(() => handle.GetResultAsync());
            Assert.IsType<CanceledFailureException>(error.InnerException);
            var described = await handle.DescribeAsync();
            Assert.Equal(ActivityExecutionStatus.Canceled, described.Status);
            Assert.Equal("no longer needed", described.RawInfo.CanceledReason);
        });
    }

    [Fact]
    public async Task Terminate_EndsAnActivityNoWorkerTook_AndDeleteRemovesIt()
    {
        var handle = await fixture.Client.StartActivityAsync(() => Activities.EchoAsync("never"), Options("sa-" + Guid.NewGuid(), ServerFixture.NewTaskQueue()));
        Assert.Equal(PendingActivityState.Scheduled, (await handle.DescribeAsync()).RunState);
        await handle.TerminateAsync(new() { Reason = "operator stop" });

        var error = await Assert.ThrowsAsync<ActivityFailedException>(() => handle.GetResultAsync());
        Assert.Equal("operator stop", Assert.IsType<TerminatedFailureException>(error.InnerException).Message);
        Assert.Equal(ActivityExecutionStatus.Terminated, (await handle.DescribeAsync()).Status);

        await fixture.Client.WorkflowService.DeleteActivityExecutionAsync(new() { Namespace = "default", ActivityId = handle.Id });
        var gone = await Assert.ThrowsAsync<RpcException>(() => handle.DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
    }

    [Fact]
    public async Task SecondStart_OfARunningId_IsAlreadyStarted_UnlessItUsesTheExistingRun()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "sa-" + Guid.NewGuid();
        var first = await fixture.Client.StartActivityAsync(() => Activities.EchoAsync("1"), Options(id, tq));
        var error = await Assert.ThrowsAsync<ActivityAlreadyStartedException>(() => fixture.Client.StartActivityAsync(() => Activities.EchoAsync("2"), Options(id, tq)));
        Assert.Equal(first.RunId, error.RunId);
        var existing = await fixture.Client.StartActivityAsync(() => Activities.EchoAsync("3"), Options(id, tq, o => o.IdConflictPolicy = ActivityIdConflictPolicy.UseExisting));
        Assert.Equal(first.RunId, existing.RunId);
        await first.TerminateAsync();
    }

    [Fact]
    public async Task AnActivity_IsInvisibleFromAnotherNamespace()
    {
        var id = "sa-" + Guid.NewGuid();
        var tq = ServerFixture.NewTaskQueue();
        var handle = await fixture.Client.StartActivityAsync(() => Activities.EchoAsync("mine"), Options(id, tq));
        var other = new TemporalClient(fixture.Client.Connection, new() { Namespace = "other" });

        var error = await Assert.ThrowsAsync<RpcException>(() => other.GetActivityHandle(id).DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
        Assert.Equal(0, (await other.CountActivitiesAsync($"TaskQueue = '{tq}'")).Count);
        var terminate = await Assert.ThrowsAsync<RpcException>(() => other.GetActivityHandle(id).TerminateAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, terminate.Code);

        Assert.Equal(ActivityExecutionStatus.Running, (await handle.DescribeAsync()).Status);
        await handle.TerminateAsync();
    }

    [Fact]
    public async Task Start_WithoutATimeout_IsInvalidArgument()
    {
        // The SDK checks this itself; the raw call shows the server's answer.
        var error = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.WorkflowService.StartActivityExecutionAsync(new()
        {
            Namespace = "default",
            ActivityId = "sa-" + Guid.NewGuid(),
            ActivityType = new() { Name = "Echo" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("ScheduleToCloseTimeout or StartToCloseTimeout", error.Message, StringComparison.Ordinal);
    }
}
