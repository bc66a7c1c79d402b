using Google.Protobuf.WellKnownTypes;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Operator actions on running activities (issue 21), driven through the official SDK: a paused activity gets no new
/// attempt until it is unpaused, a reset counts attempts from 1 again, updated options reach the next attempt.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ActivityOperationTests(ServerFixture fixture)
{
    public sealed record Plan(int MaximumAttempts, bool HeartbeatTimeout);

    /// <summary>The activity each test drives: every attempt is counted; the test decides when each one ends.</summary>
    public sealed class Activities
    {
        private int _calls;

        public int Calls => _calls;

        /// <summary>Set when the attempt the test waits for is running.</summary>
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Released by the test to make the blocked attempt fail.</summary>
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Which call blocks (1-based); the calls before it fail at once, the calls after it succeed.</summary>
        public int BlockingCall { get; set; } = 1;

        public Temporalio.Common.RetryPolicy? SeenRetryPolicy { get; private set; }

        public TimeSpan SeenStartToClose { get; private set; }

        public bool SawReset { get; private set; }

        [Activity]
        public async Task<string> Step()
        {
            var ctx = ActivityExecutionContext.Current;
            var call = Interlocked.Increment(ref _calls);
            SeenRetryPolicy = ctx.Info.RetryPolicy;
            SeenStartToClose = ctx.Info.StartToCloseTimeout ?? TimeSpan.Zero;
            if (call < BlockingCall)
            {
                throw new InvalidOperationException($"call {call} fails");
            }

            if (call > BlockingCall)
            {
                return $"call {call} attempt {ctx.Info.Attempt}";
            }

            Reached.TrySetResult();

            // Heartbeat until the test releases the gate or the server's heartbeat response cancels the attempt.
            while (!Gate.Task.IsCompleted && !ctx.CancellationToken.IsCancellationRequested)
            {
                ctx.Heartbeat();
                await Task.WhenAny(Gate.Task, Task.Delay(200, CancellationToken.None));
            }

            SawReset = ctx.CancellationDetails?.IsReset == true;
            throw new InvalidOperationException($"call {call} fails after the gate");
        }
    }

    [Workflow]
    public sealed class StepWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(Plan plan) =>
            Workflow.ExecuteActivityAsync(
                (Activities a) => a.Step(),
                new()
                {
                    ActivityId = "step",
                    StartToCloseTimeout = TimeSpan.FromSeconds(60),
                    HeartbeatTimeout = plan.HeartbeatTimeout ? TimeSpan.FromSeconds(30) : null,
                    RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(100), BackoffCoefficient = 1, MaximumAttempts = plan.MaximumAttempts },
                });
    }

    [Fact]
    public async Task Pause_HoldsTheRetry_UntilUnpause_ThenTheActivityCompletes()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddWorkflow<StepWorkflow>().AddAllActivities(activities), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((StepWorkflow wf) => wf.RunAsync(new(1, false)), new("pause-" + Guid.NewGuid(), tq));
            await activities.Reached.Task.WaitAsync(TimeSpan.FromSeconds(20));

            var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id };
            await fixture.Client.WorkflowService.PauseActivityAsync(new()
            {
                Namespace = fixture.Client.Options.Namespace, Execution = execution, Id = "step", Identity = "operator-olga", Reason = "db migration",
            });

            // The running attempt fails; with one attempt allowed and a 100 ms interval, only the pause keeps the activity
            // pending (Temporal holds a paused activity's retryable failure whatever its attempts).
            activities.Gate.SetResult();
            Temporalio.Api.Workflow.V1.PendingActivityInfo? pending = null;
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                pending = await PendingAsync(handle);
                return pending is { State: PendingActivityState.Paused, Attempt: 2 };
            }));
            Assert.True(pending!.Paused);
            Assert.Equal("operator-olga", pending.PauseInfo.Manual.Identity);
            Assert.Equal("db migration", pending.PauseInfo.Manual.Reason);
            Assert.Equal(1, activities.Calls);

            await fixture.Client.WorkflowService.UnpauseActivityAsync(new() { Namespace = fixture.Client.Options.Namespace, Execution = execution, Id = "step" });
            Assert.Equal("call 2 attempt 2", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task Reset_WhileAnAttemptRuns_TellsItThroughTheHeartbeat_AndCountsAttemptsFromOne()
    {
        var activities = new Activities { BlockingCall = 3 };

        // A long heartbeat timeout a loaded machine cannot miss (a 2 s one once timed the attempt out before the reset
        // reached it), and heartbeats sent every 100 ms rather than the SDK's 0.8 × timeout, so the reset arrives soon.
        await fixture.WithWorkerAsync(o => { o.AddWorkflow<StepWorkflow>().AddAllActivities(activities); o.MaxHeartbeatThrottleInterval = TimeSpan.FromMilliseconds(100); }, async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((StepWorkflow wf) => wf.RunAsync(new(0, true)), new("reset-" + Guid.NewGuid(), tq));
            await activities.Reached.Task.WaitAsync(TimeSpan.FromSeconds(20));

            await fixture.Client.WorkflowService.ResetActivityAsync(new()
            {
                Namespace = fixture.Client.Options.Namespace,
                Execution = new() { WorkflowId = handle.Id },
                Type = "Step",
            });

            // Attempt 3 learns of the reset from its heartbeat response and fails; the next attempt is attempt 1.
            Assert.Equal("call 4 attempt 1", await handle.GetResultAsync());
            Assert.True(activities.SawReset);
        });
    }

    [Fact]
    public async Task UpdateOptions_ReachTheNextAttempt()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddWorkflow<StepWorkflow>().AddAllActivities(activities), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((StepWorkflow wf) => wf.RunAsync(new(0, false)), new("options-" + Guid.NewGuid(), tq));
            await activities.Reached.Task.WaitAsync(TimeSpan.FromSeconds(20));
            var ns = fixture.Client.Options.Namespace;
            var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id };

            // Paused by type, so attempt 2 waits for the new options; then at most 2 attempts and a 30 s start-to-close.
            await fixture.Client.WorkflowService.PauseActivityAsync(new() { Namespace = ns, Execution = execution, Type = "Step" });
            var response = await fixture.Client.WorkflowService.UpdateActivityOptionsAsync(new()
            {
                Namespace = ns,
                Execution = execution,
                Id = "step",
                ActivityOptions = new()
                {
                    StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
                    RetryPolicy = new() { MaximumAttempts = 2 },
                },
                UpdateMask = new() { Paths = { "startToCloseTimeout", "retryPolicy.maximumAttempts" } },
            });
            Assert.Equal(TimeSpan.FromSeconds(30), response.ActivityOptions.StartToCloseTimeout.ToTimeSpan());
            Assert.Equal(2, response.ActivityOptions.RetryPolicy.MaximumAttempts);
            Assert.Equal(TimeSpan.FromMilliseconds(100), response.ActivityOptions.RetryPolicy.InitialInterval.ToTimeSpan());

            activities.BlockingCall = 2; // attempt 2 blocks, then fails: the last attempt the new policy allows
            activities.Gate.SetResult();
            Assert.True(await Eventually.HoldsAsync(async () =>
                (await PendingAsync(handle)) is { State: PendingActivityState.Paused, Attempt: 2 }));
            await fixture.Client.WorkflowService.UnpauseActivityAsync(new() { Namespace = ns, Execution = execution, Type = "Step" });

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            var activityFailure = Assert.IsType<ActivityFailureException>(failure.InnerException);
            Assert.Equal(RetryState.MaximumAttemptsReached, activityFailure.RetryState);
            Assert.Equal(TimeSpan.FromSeconds(30), activities.SeenStartToClose);
            Assert.Equal(2, activities.SeenRetryPolicy?.MaximumAttempts);
            Assert.Equal(2, activities.Calls);
        });
    }

    [Fact]
    public async Task UnknownActivity_IsNotFound_AndAMissingTarget_IsInvalid()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddWorkflow<StepWorkflow>().AddAllActivities(activities), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((StepWorkflow wf) => wf.RunAsync(new(0, false)), new("unknown-" + Guid.NewGuid(), tq));
            await activities.Reached.Task.WaitAsync(TimeSpan.FromSeconds(20));
            var ns = fixture.Client.Options.Namespace;
            var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id };

            var unknown = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.WorkflowService.PauseActivityAsync(new() { Namespace = ns, Execution = execution, Id = "nope" }));
            Assert.Equal(RpcException.StatusCode.NotFound, unknown.Code);
            Assert.Contains("Can't find pending activity", unknown.Message, StringComparison.Ordinal);

            var missing = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.WorkflowService.ResetActivityAsync(new() { Namespace = ns, Execution = execution }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, missing.Code);
            Assert.Equal("Either Activity.Id or Activity.Type should be set on request.", missing.Message);

            var noMask = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.WorkflowService.UpdateActivityOptionsAsync(
                new() { Namespace = ns, Execution = execution, Id = "step", ActivityOptions = new() }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, noMask.Code);

            activities.Gate.SetResult();
            Assert.Equal("call 2 attempt 2", await handle.GetResultAsync());
        });
    }

    private async Task<Temporalio.Api.Workflow.V1.PendingActivityInfo?> PendingAsync(WorkflowHandle handle) =>
        (await fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = fixture.Client.Options.Namespace,
            Execution = new() { WorkflowId = handle.Id },
        })).PendingActivities.SingleOrDefault();
}
