using Temporalio.Activities;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class ActivityTests(ServerFixture fixture)
{
    private static readonly RetryPolicy s_fastRetry = new() { InitialInterval = TimeSpan.FromMilliseconds(100), BackoffCoefficient = 1, MaximumInterval = TimeSpan.FromMilliseconds(100) };

    public sealed class Activities
    {
        private int _calls;

        public int Calls => _calls;

        [Activity]
        public int FailTwice()
        {
            Interlocked.Increment(ref _calls);
            var attempt = ActivityExecutionContext.Current.Info.Attempt;
            return attempt < 3 ? throw new InvalidOperationException($"attempt {attempt} fails") : attempt;
        }

        [Activity]
        public string RejectInput()
        {
            Interlocked.Increment(ref _calls);
            throw new ApplicationFailureException("input is bad", errorType: "BadInput");
        }

        [Activity]
        public async Task<string> SleepAsync(int milliseconds)
        {
            await Task.Delay(milliseconds, ActivityExecutionContext.Current.CancellationToken);
            return "slept";
        }

        [Activity]
        public string HeartbeatThenFail()
        {
            var info = ActivityExecutionContext.Current.Info;
            if (info.Attempt == 1)
            {
                ActivityExecutionContext.Current.Heartbeat("progress-42");
                throw new InvalidOperationException("first attempt dies after heartbeating");
            }

            return info.HeartbeatDetails.Count > 0 ? $"attempt {info.Attempt} resumed from {info.HeartbeatDetailAtAsync<string>(0).Result}" : "no details";
        }
    }

    [Workflow]
    public sealed class RetryWorkflow
    {
        [WorkflowRun]
        public Task<int> RunAsync() =>
            Workflow.ExecuteActivityAsync((Activities a) => a.FailTwice(), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10), RetryPolicy = s_fastRetry });
    }

    [Workflow]
    public sealed class NonRetryableWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            try
            {
                await Workflow.ExecuteActivityAsync(
                    (Activities a) => a.RejectInput(),
                    new()
                    {
                        StartToCloseTimeout = TimeSpan.FromSeconds(10),
                        RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(100), NonRetryableErrorTypes = ["BadInput"] },
                    });
                return "completed";
            }
            catch (ActivityFailureException e) when (e.InnerException is ApplicationFailureException app)
            {
                return $"{app.ErrorType}: {app.Message} ({e.RetryState})";
            }
        }
    }

    [Workflow]
    public sealed class TimeoutWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string kind)
        {
            var options = kind switch
            {
                "StartToClose" => new ActivityOptions { StartToCloseTimeout = TimeSpan.FromMilliseconds(500) },
                "ScheduleToStart" => new ActivityOptions { TaskQueue = "nobody-polls-" + Workflow.Info.WorkflowId, ScheduleToStartTimeout = TimeSpan.FromMilliseconds(500), StartToCloseTimeout = TimeSpan.FromSeconds(10) },
                // Never started (nobody polls its queue), so only its schedule-to-close can expire: an attempt started
                // in the schedule's own transition (eagerly) would have a start-to-close ending at the same instant.
                "ScheduleToClose" => new ActivityOptions { TaskQueue = "nobody-polls-" + Workflow.Info.WorkflowId, ScheduleToCloseTimeout = TimeSpan.FromSeconds(1) },
                "Heartbeat" => new ActivityOptions { StartToCloseTimeout = TimeSpan.FromSeconds(30), HeartbeatTimeout = TimeSpan.FromMilliseconds(500) },
                _ => throw new ArgumentException(kind),
            };
            options.RetryPolicy = new() { MaximumAttempts = 1 };
            try
            {
                await Workflow.ExecuteActivityAsync((Activities a) => a.SleepAsync(10_000), options);
                return "completed";
            }
            catch (ActivityFailureException e) when (e.InnerException is TimeoutFailureException timeout)
            {
                return timeout.TimeoutType.ToString();
            }
        }
    }

    [Workflow]
    public sealed class HeartbeatWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() =>
            Workflow.ExecuteActivityAsync((Activities a) => a.HeartbeatThenFail(), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10), RetryPolicy = s_fastRetry });
    }

    [Fact]
    public async Task Retry_UntilSuccess_CountsAttempts()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddWorkflow<RetryWorkflow>().AddAllActivities(activities), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((RetryWorkflow wf) => wf.RunAsync(), new("retry-" + Guid.NewGuid(), tq));
            Assert.Equal(3, await handle.GetResultAsync());
            Assert.Equal(3, activities.Calls);
            var history = await handle.FetchHistoryAsync();
            var started = history.Events.Single(e => e.ActivityTaskStartedEventAttributes != null);
            Assert.Equal(3, started.ActivityTaskStartedEventAttributes.Attempt);
            Assert.Equal("attempt 2 fails", started.ActivityTaskStartedEventAttributes.LastFailure.Message);
        });
    }

    [Fact]
    public async Task NonRetryableErrorType_FailsAfterOneAttempt()
    {
        var activities = new Activities();
        await fixture.WithWorkerAsync(o => o.AddWorkflow<NonRetryableWorkflow>().AddAllActivities(activities), async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((NonRetryableWorkflow wf) => wf.RunAsync(), new("nonretry-" + Guid.NewGuid(), tq));
            Assert.Equal("BadInput: input is bad (NonRetryableFailure)", result);
            Assert.Equal(1, activities.Calls);
        });
    }

    [Theory]
    [InlineData("StartToClose")]
    [InlineData("ScheduleToStart")]
    [InlineData("ScheduleToClose")]
    [InlineData("Heartbeat")]
    public async Task Timeout_IsReportedWithItsType(string kind)
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<TimeoutWorkflow>().AddAllActivities(new Activities()), async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((TimeoutWorkflow wf) => wf.RunAsync(kind), new("timeout-" + Guid.NewGuid(), tq));
            Assert.Equal(kind, result);
        });
    }

    [Fact]
    public async Task HeartbeatDetails_AreVisibleToTheNextAttempt()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<HeartbeatWorkflow>().AddAllActivities(new Activities()), async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((HeartbeatWorkflow wf) => wf.RunAsync(), new("heartbeat-" + Guid.NewGuid(), tq));
            Assert.Equal("attempt 2 resumed from progress-42", result);
        });
    }
}
