using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>Cancellation, signal-with-start and continue-as-new, driven by the official SDK.</summary>
[Collection(ServerCollection.Name)]
public sealed class WorkflowLifecycleTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class CancellableWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            try
            {
                await Workflow.DelayAsync(TimeSpan.FromHours(1));
                return "not canceled";
            }
            catch (TaskCanceledException)
            {
                // Cleanup runs on a token of its own: the workflow's token is already canceled.
                using var detached = new CancellationTokenSource();
                await Workflow.ExecuteActivityAsync(() => Cleanup(), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10), CancellationToken = detached.Token });
                throw;
            }
        }

        [Activity]
        public static string Cleanup() => "cleaned";
    }

    [Fact]
    public async Task Cancel_IsSeenByTheWorkflow_WhichCleansUpThenEndsCanceled()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<CancellableWorkflow>().AddActivity(CancellableWorkflow.Cleanup), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CancellableWorkflow wf) => wf.RunAsync(), new("cancel-" + Guid.NewGuid(), tq));
            await WaitForAsync(handle, EventType.TimerStarted);
            await handle.CancelAsync();
            await handle.CancelAsync(); // asking twice is acknowledged once

            var error = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            Assert.IsType<CanceledFailureException>(error.InnerException);
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Single(events, e => e == EventType.WorkflowExecutionCancelRequested);
            Assert.Contains(EventType.ActivityTaskCompleted, events);
            Assert.Equal(EventType.WorkflowExecutionCanceled, events[^1]);
            Assert.Equal(WorkflowExecutionStatus.Canceled, (await handle.DescribeAsync()).Status);
        });
    }

    [Workflow]
    public sealed class CollectWorkflow
    {
        private readonly List<string> _items = [];

        [WorkflowRun]
        public async Task<List<string>> RunAsync(int count)
        {
            await Workflow.WaitConditionAsync(() => _items.Count >= count);
            return _items;
        }

        [WorkflowSignal]
        public Task AddAsync(string item)
        {
            _items.Add(item);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task SignalWithStart_StartsWithTheSignal_ThenSignalsTheRunningWorkflow()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<CollectWorkflow>(), async tq =>
        {
            var id = "sws-" + Guid.NewGuid();
            var first = await fixture.Client.StartWorkflowAsync(
                (CollectWorkflow wf) => wf.RunAsync(2),
                new(id, tq) { StartSignal = "Add", StartSignalArgs = ["first"] });
            var second = await fixture.Client.StartWorkflowAsync(
                (CollectWorkflow wf) => wf.RunAsync(2),
                new(id, tq) { StartSignal = "Add", StartSignalArgs = ["second"], IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting });
            Assert.Equal(first.ResultRunId, second.ResultRunId);
            Assert.Equal(["first", "second"], await first.GetResultAsync());

            var events = (await first.FetchHistoryAsync()).Events.Take(3).Select(e => e.EventType);
            Assert.Equal([EventType.WorkflowExecutionStarted, EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskScheduled], events);
        });
    }

    [Workflow]
    public sealed class CountingWorkflow
    {
        [WorkflowRun]
        public async Task<int> RunAsync(int n)
        {
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(10));
            if (n < 3)
            {
                throw Workflow.CreateContinueAsNewException((CountingWorkflow wf) => wf.RunAsync(n + 1));
            }

            return n;
        }
    }

    [Fact]
    public async Task ContinueAsNew_ChainsRuns_AndTheClientFollowsToTheLastResult()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<CountingWorkflow>(), async tq =>
        {
            var id = "can-" + Guid.NewGuid();
            var handle = await fixture.Client.StartWorkflowAsync((CountingWorkflow wf) => wf.RunAsync(0), new(id, tq));
            Assert.Equal(3, await handle.GetResultAsync());

            var firstRun = fixture.Client.GetWorkflowHandle(id, runId: handle.ResultRunId);
            var firstHistory = (await firstRun.FetchHistoryAsync()).Events.ToList();
            var continued = firstHistory[^1].WorkflowExecutionContinuedAsNewEventAttributes;
            Assert.NotNull(continued);
            Assert.Equal(WorkflowExecutionStatus.ContinuedAsNew, (await firstRun.DescribeAsync()).Status);

            var latest = fixture.Client.GetWorkflowHandle(id);
            var latestStarted = (await latest.FetchHistoryAsync()).Events.First().WorkflowExecutionStartedEventAttributes;
            Assert.Equal(handle.ResultRunId, latestStarted.FirstExecutionRunId);
            Assert.NotEqual(handle.ResultRunId, latestStarted.ContinuedExecutionRunId);
            Assert.Equal(WorkflowExecutionStatus.Completed, (await latest.DescribeAsync()).Status);

            var secondRun = fixture.Client.GetWorkflowHandle(id, runId: continued.NewExecutionRunId);
            var secondStarted = (await secondRun.FetchHistoryAsync()).Events.First().WorkflowExecutionStartedEventAttributes;
            Assert.Equal(handle.ResultRunId, secondStarted.ContinuedExecutionRunId);
        });
    }

    [Workflow]
    public sealed class FlakyWorkflow
    {
        [WorkflowRun]
        public Task<int> RunAsync() => Workflow.Info.Attempt < 3
            ? throw new ApplicationFailureException($"attempt {Workflow.Info.Attempt} fails")
            : Task.FromResult(Workflow.Info.Attempt);
    }

    [Fact]
    public async Task WorkflowRetryPolicy_RetriesInNewRuns_UntilSuccess()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<FlakyWorkflow>(), async tq =>
        {
            var id = "wf-retry-" + Guid.NewGuid();
            var handle = await fixture.Client.StartWorkflowAsync(
                (FlakyWorkflow wf) => wf.RunAsync(),
                new(id, tq) { RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(100), MaximumAttempts = 5 } });
            Assert.Equal(3, await handle.GetResultAsync());
            var firstRun = (await fixture.Client.GetWorkflowHandle(id, handle.ResultRunId).FetchHistoryAsync()).Events.Last();
            Assert.Equal(RetryState.InProgress, firstRun.WorkflowExecutionFailedEventAttributes.RetryState);
            Assert.False(string.IsNullOrEmpty(firstRun.WorkflowExecutionFailedEventAttributes.NewExecutionRunId));
        });
    }

    [Fact]
    public async Task WorkflowRetryPolicy_StopsAtMaximumAttempts()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<FlakyWorkflow>(), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync(
                (FlakyWorkflow wf) => wf.RunAsync(),
                new("wf-retry-max-" + Guid.NewGuid(), tq) { RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(100), MaximumAttempts = 2 } });
            var error = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            Assert.Equal("attempt 2 fails", error.InnerException?.Message);
        });
    }

    [Workflow]
    public sealed class CronWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("tick " + Workflow.Info.RunId);
    }

    [Fact]
    public async Task CronSchedule_StartsEachRunAtTheNextTime_CarryingTheLastResult()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<CronWorkflow>(), async tq =>
        {
            var id = "cron-" + Guid.NewGuid();
            var first = await fixture.Client.StartWorkflowAsync((CronWorkflow wf) => wf.RunAsync(), new(id, tq) { CronSchedule = "@every 1s" });
            Temporalio.Api.History.V1.HistoryEvent? closed = null;
            for (var i = 0; i < 100 && closed is null; i++)
            {
                await Task.Delay(100);
                var events = (await fixture.Client.GetWorkflowHandle(id, first.ResultRunId).FetchHistoryAsync()).Events;
                closed = events.FirstOrDefault(e => e.EventType == Temporalio.Api.Enums.V1.EventType.WorkflowExecutionCompleted);
            }

            Assert.NotNull(closed);
            var nextRunId = closed.WorkflowExecutionCompletedEventAttributes.NewExecutionRunId;
            var next = (await fixture.Client.GetWorkflowHandle(id, nextRunId).FetchHistoryAsync()).Events.First().WorkflowExecutionStartedEventAttributes;
            Assert.Equal(Temporalio.Api.Enums.V1.ContinueAsNewInitiator.CronSchedule, next.Initiator);
            Assert.Equal(first.ResultRunId, next.ContinuedExecutionRunId);
            Assert.NotNull(next.LastCompletionResult);
            Assert.True(next.FirstWorkflowTaskBackoff.ToTimeSpan() > TimeSpan.Zero);
            await fixture.Client.GetWorkflowHandle(id).TerminateAsync("stop the schedule");
        });
    }

    private static async Task WaitForAsync(WorkflowHandle handle, EventType type)
    {
        for (var i = 0; i < 200 && !(await handle.FetchHistoryAsync()).Events.Any(e => e.EventType == type); i++)
        {
            await Task.Delay(50);
        }
    }
}
