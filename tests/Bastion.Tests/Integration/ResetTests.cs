using System.Collections.Concurrent;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class ResetTests(ServerFixture fixture)
{
    private static readonly ConcurrentDictionary<string, int> s_stepRuns = new();

    [Activity]
    public static string Step(string key)
    {
        s_stepRuns.AddOrUpdate(key, 1, (_, n) => n + 1);
        return "stepped";
    }

    [Workflow]
    public sealed class ResettableWorkflow
    {
        private readonly List<string> _signals = [];

        [WorkflowRun]
        public async Task<string> RunAsync(string key)
        {
            var step = await Workflow.ExecuteActivityAsync(() => Step(key), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });
            await Workflow.WaitConditionAsync(() => _signals.Count > 0);
            return step + "+" + string.Join(",", _signals);
        }

        [WorkflowSignal]
        public Task AddAsync(string value)
        {
            _signals.Add(value);
            return Task.CompletedTask;
        }
    }

    private static readonly ConcurrentDictionary<string, bool> s_released = new();

    [Activity]
    public static async Task<string> SlowStep(string key)
    {
        s_stepRuns.AddOrUpdate(key, 1, (_, n) => n + 1);
        while (!s_released.ContainsKey(key))
        {
            await Task.Delay(20, ActivityExecutionContext.Current.CancellationToken);
        }

        return "slow";
    }

    /// <summary>Starts an activity, then (while it runs) waits for a signal before awaiting it.</summary>
    [Workflow]
    public sealed class PendingActivityWorkflow
    {
        private bool _go;

        [WorkflowRun]
        public async Task<string> RunAsync(string key)
        {
            var step = Workflow.ExecuteActivityAsync(() => SlowStep(key), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
            await Workflow.WaitConditionAsync(() => _go);
            return await step;
        }

        [WorkflowSignal]
        public Task GoAsync()
        {
            _go = true;
            return Task.CompletedTask;
        }
    }

    [Workflow]
    public sealed class FinishingChildWorkflow
    {
        private bool _finish;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _finish);
            return "child done";
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }
    }

    [Workflow]
    public sealed class ParentAwaitingChildWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string childId) =>
            "parent got " + await Workflow.ExecuteChildWorkflowAsync((FinishingChildWorkflow c) => c.RunAsync(), new() { Id = childId });
    }

    private Task RunAsync(Func<string, Task> body) => fixture.WithWorkerAsync(
        o => o.AddWorkflow<ResettableWorkflow>().AddWorkflow<ParentAwaitingChildWorkflow>().AddWorkflow<FinishingChildWorkflow>()
            .AddWorkflow<PendingActivityWorkflow>().AddActivity(Step).AddActivity(SlowStep),
        body);

    private Task<ResetWorkflowExecutionResponse> ResetAsync(string workflowId, string? runId, long eventId, Action<ResetWorkflowExecutionRequest>? configure = null)
    {
        var request = new ResetWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = workflowId, RunId = runId ?? string.Empty },
            Reason = "replay after a fix",
            WorkflowTaskFinishEventId = eventId,
            RequestId = Guid.NewGuid().ToString(),
            Identity = "reset-test",
        };
        configure?.Invoke(request);
        return fixture.Client.WorkflowService.ResetWorkflowExecutionAsync(request);
    }

    /// <summary>The run's history once <paramref name="until"/> holds for it.</summary>
    private static async Task<List<HistoryEvent>> HistoryWhenAsync(WorkflowHandle handle, Func<List<HistoryEvent>, bool> until)
    {
        while (true)
        {
            var events = (await handle.FetchHistoryAsync()).Events.ToList();
            if (until(events))
            {
                return events;
            }

            await Task.Delay(50);
        }
    }

    private static long FirstTaskCompleted(IEnumerable<HistoryEvent> events) =>
        events.First(e => e.EventType == EventType.WorkflowTaskCompleted).EventId;

    [Fact]
    public async Task ResetOfACompletedWorkflow_RunsAgainFromThePoint_WithItsSignalsReapplied()
    {
        await RunAsync(async tq =>
        {
            var key = Guid.NewGuid().ToString();
            var handle = await fixture.Client.StartWorkflowAsync((ResettableWorkflow wf) => wf.RunAsync(key), new("reset-done-" + key, tq));
            await handle.SignalAsync(wf => wf.AddAsync("go"));
            Assert.Equal("stepped+go", await handle.GetResultAsync());
            var baseHistory = (await handle.FetchHistoryAsync()).Events.ToList();

            var response = await ResetAsync(handle.Id, handle.ResultRunId, FirstTaskCompleted(baseHistory));
            var reset = fixture.Client.GetWorkflowHandle<ResettableWorkflow>(handle.Id, response.RunId);
            Assert.Equal("stepped+go", await reset.GetResultAsync<string>());
            Assert.Equal(2, s_stepRuns[key]); // the activity after the point ran again

            var events = (await reset.FetchHistoryAsync()).Events.ToList();
            var resetPoint = FirstTaskCompleted(baseHistory);
            for (var i = 0; i < resetPoint - 1; i++)
            {
                Assert.Equal(baseHistory[i].EventType, events[i].EventType);
            }

            var failed = events[(int)resetPoint - 1].WorkflowTaskFailedEventAttributes;
            Assert.Equal(WorkflowTaskFailedCause.ResetWorkflow, failed.Cause);
            Assert.Equal(handle.ResultRunId, failed.BaseRunId);
            Assert.Equal(response.RunId, failed.NewRunId);
            Assert.Equal("go", events.Single(e => e.EventType == EventType.WorkflowExecutionSignaled)
                .WorkflowExecutionSignaledEventAttributes.Input.Payloads_[0].Data.ToStringUtf8().Trim('"'));

            // The base run is left as it was; the new run is the workflow's current run.
            Assert.Equal(baseHistory.Count, (await fixture.Client.GetWorkflowHandle(handle.Id, handle.ResultRunId).FetchHistoryAsync()).Events.Count);
            Assert.Equal(response.RunId, (await fixture.Client.GetWorkflowHandle(handle.Id).DescribeAsync()).RunId);

            await new WorkflowReplayer(new WorkflowReplayerOptions().AddWorkflow<ResettableWorkflow>())
                .ReplayWorkflowAsync(await reset.FetchHistoryAsync());
        });
    }

    [Fact]
    public async Task ResetOfARunningWorkflow_TerminatesIt_AndTheNewRunGoesOn()
    {
        await RunAsync(async tq =>
        {
            var key = Guid.NewGuid().ToString();
            var handle = await fixture.Client.StartWorkflowAsync((ResettableWorkflow wf) => wf.RunAsync(key), new("reset-running-" + key, tq));
            var events = await HistoryWhenAsync(handle, h => h.Any(e => e.EventType == EventType.ActivityTaskCompleted) && h[^1].EventType == EventType.WorkflowTaskCompleted);

            var response = await ResetAsync(handle.Id, null, FirstTaskCompleted(events));
            var baseRun = fixture.Client.GetWorkflowHandle(handle.Id, handle.ResultRunId);
            Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated, (await baseRun.DescribeAsync()).Status);
            Assert.Contains("replay after a fix", (await baseRun.FetchHistoryAsync()).Events.Last().WorkflowExecutionTerminatedEventAttributes.Reason, StringComparison.Ordinal);

            var current = fixture.Client.GetWorkflowHandle<ResettableWorkflow>(handle.Id);
            await current.SignalAsync(wf => wf.AddAsync("late"));
            Assert.Equal("stepped+late", await current.GetResultAsync<string>());
            Assert.Equal(response.RunId, (await current.DescribeAsync()).RunId);
        });
    }

    [Fact]
    public async Task ActivityPendingAtTheResetPoint_IsDispatchedAgain_AndCompletesTheNewRun()
    {
        await RunAsync(async tq =>
        {
            var key = Guid.NewGuid().ToString();
            var handle = await fixture.Client.StartWorkflowAsync((PendingActivityWorkflow wf) => wf.RunAsync(key), new("reset-pending-" + key, tq));
            while (!s_stepRuns.ContainsKey(key))
            {
                await Task.Delay(50); // the first task has completed: the activity runs
            }

            await handle.SignalAsync(wf => wf.GoAsync()); // so the signal comes with a second task
            var events = await HistoryWhenAsync(handle, h => h.Count(e => e.EventType == EventType.WorkflowTaskCompleted) >= 2);

            // The second task (after the signal) is the point: the activity was scheduled before it and is still running.
            var point = events.Where(e => e.EventType == EventType.WorkflowTaskCompleted).ElementAt(1).EventId;
            var response = await ResetAsync(handle.Id, null, point, r => r.ResetReapplyExcludeTypes.Add(ResetReapplyExcludeType.Signal));
            var describe = await fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
            {
                Namespace = "default",
                Execution = new() { WorkflowId = handle.Id, RunId = response.RunId },
            });
            Assert.Equal("SlowStep", Assert.Single(describe.PendingActivities).ActivityType.Name);

            s_released[key] = true;
            Assert.Equal("slow", await fixture.Client.GetWorkflowHandle(handle.Id, response.RunId).GetResultAsync<string>());
            Assert.Equal(2, s_stepRuns[key]); // once for the base run, once more for the new run
        });
    }

    [Fact]
    public async Task ResetExcludingSignals_DoesNotReapplyThem()
    {
        await RunAsync(async tq =>
        {
            var key = Guid.NewGuid().ToString();
            var handle = await fixture.Client.StartWorkflowAsync((ResettableWorkflow wf) => wf.RunAsync(key), new("reset-exclude-" + key, tq));

            // Signalled only after the first task completed: a signal that came before it would sit before the reset
            // point and stay in the new run, as in Temporal.
            await HistoryWhenAsync(handle, h => h.Any(e => e.EventType == EventType.WorkflowTaskCompleted));
            await handle.SignalAsync(wf => wf.AddAsync("early"));
            Assert.Equal("stepped+early", await handle.GetResultAsync());

            var point = FirstTaskCompleted((await handle.FetchHistoryAsync()).Events);
            var response = await ResetAsync(handle.Id, null, point, r => r.ResetReapplyExcludeTypes.Add(ResetReapplyExcludeType.Signal));
            var reset = fixture.Client.GetWorkflowHandle<ResettableWorkflow>(handle.Id, response.RunId);
            await reset.SignalAsync(wf => wf.AddAsync("late"));
            Assert.Equal("stepped+late", await reset.GetResultAsync<string>());
        });
    }

    [Fact]
    public async Task RetriedReset_WithTheSameRequestId_ReturnsTheSameRun()
    {
        await RunAsync(async tq =>
        {
            var key = Guid.NewGuid().ToString();
            var handle = await fixture.Client.StartWorkflowAsync((ResettableWorkflow wf) => wf.RunAsync(key), new("reset-retry-" + key, tq));
            await handle.SignalAsync(wf => wf.AddAsync("go"));
            await handle.GetResultAsync();
            var point = FirstTaskCompleted((await handle.FetchHistoryAsync()).Events);
            var requestId = Guid.NewGuid().ToString();
            var first = await ResetAsync(handle.Id, handle.ResultRunId, point, r => r.RequestId = requestId);
            var again = await ResetAsync(handle.Id, handle.ResultRunId, point, r => r.RequestId = requestId);
            Assert.Equal(first.RunId, again.RunId);
            await fixture.Client.GetWorkflowHandle(handle.Id, first.RunId).GetResultAsync<string>();
        });
    }

    [Theory]
    [InlineData(0L, "is not an event of this run")]
    [InlineData(999L, "is not an event of this run")]
    [InlineData(1L, "WorkflowExecutionStarted")]
    public async Task ResetToAnInvalidPoint_IsInvalidArgument_AndChangesNothing(long eventId, string expected)
    {
        await RunAsync(async tq =>
        {
            var key = Guid.NewGuid().ToString();
            var handle = await fixture.Client.StartWorkflowAsync((ResettableWorkflow wf) => wf.RunAsync(key), new("reset-bad-" + key, tq));
            await handle.SignalAsync(wf => wf.AddAsync("go"));
            await handle.GetResultAsync();
            var before = (await handle.FetchHistoryAsync()).Events.Count;

            var error = await Assert.ThrowsAsync<RpcException>(() => ResetAsync(handle.Id, null, eventId));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
            Assert.Equal(handle.ResultRunId, (await fixture.Client.GetWorkflowHandle(handle.Id).DescribeAsync()).RunId);
            Assert.Equal(before, (await fixture.Client.GetWorkflowHandle(handle.Id, handle.ResultRunId).FetchHistoryAsync()).Events.Count);
        });
    }

    [Fact]
    public async Task ResetOfARunningParent_ToWhereItsChildIsPending_KeepsTheChild_WhichReportsToTheNewRun()
    {
        await RunAsync(async tq =>
        {
            var id = "reset-parent-" + Guid.NewGuid();
            var childId = id + "-child";
            var handle = await fixture.Client.StartWorkflowAsync((ParentAwaitingChildWorkflow wf) => wf.RunAsync(childId), new(id, tq));
            var events = await HistoryWhenAsync(handle, h => h.Any(e => e.EventType == EventType.ChildWorkflowExecutionStarted) && h[^1].EventType == EventType.WorkflowTaskCompleted);
            var child = fixture.Client.GetWorkflowHandle(childId);
            var childRunId = (await child.DescribeAsync()).RunId;

            var reset = await ResetAsync(id, null, events[^1].EventId);

            // The base run is terminated, its child is not (no parent close policy for a reset); the new run knows it.
            Assert.Equal(WorkflowExecutionStatus.Terminated, (await fixture.Client.GetWorkflowHandle(id, handle.ResultRunId).DescribeAsync()).Status);
            Assert.Equal(WorkflowExecutionStatus.Running, (await child.DescribeAsync()).Status);
            var described = await fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(
                new() { Namespace = "default", Execution = new() { WorkflowId = id, RunId = reset.RunId } });
            Assert.Equal(childRunId, Assert.Single(described.PendingChildren).RunId);

            // The child, still the base run's, finishes: its result reaches the reset run, which completes with it.
            await child.SignalAsync((FinishingChildWorkflow c) => c.FinishAsync());
            var newRun = fixture.Client.GetWorkflowHandle<ParentAwaitingChildWorkflow>(id, reset.RunId);
            Assert.Equal("parent got child done", await newRun.GetResultAsync<string>());
            var history = (await newRun.FetchHistoryAsync()).Events.ToList();
            Assert.Single(history, e => e.EventType == EventType.StartChildWorkflowExecutionInitiated);
            var completed = Assert.Single(history, e => e.EventType == EventType.ChildWorkflowExecutionCompleted).ChildWorkflowExecutionCompletedEventAttributes;
            Assert.Equal(childRunId, completed.WorkflowExecution.RunId);
        });
    }

    [Fact]
    public async Task ResetOfACompletedParent_ToWhereItsChildWasPending_ReappliesWhatTheChildDidAfter()
    {
        await RunAsync(async tq =>
        {
            var id = "reset-parent-done-" + Guid.NewGuid();
            var childId = id + "-child";
            var handle = await fixture.Client.StartWorkflowAsync((ParentAwaitingChildWorkflow wf) => wf.RunAsync(childId), new(id, tq));
            var events = await HistoryWhenAsync(handle, h => h.Any(e => e.EventType == EventType.ChildWorkflowExecutionStarted) && h[^1].EventType == EventType.WorkflowTaskCompleted);
            var pendingPoint = events[^1].EventId;
            await fixture.Client.GetWorkflowHandle(childId).SignalAsync((FinishingChildWorkflow c) => c.FinishAsync());
            Assert.Equal("parent got child done", await handle.GetResultAsync<string>());

            var reset = await ResetAsync(id, null, pendingPoint);

            // The child closed after the point: the reset run records that, after its reset marker, and completes again.
            var newRun = fixture.Client.GetWorkflowHandle<ParentAwaitingChildWorkflow>(id, reset.RunId);
            Assert.Equal("parent got child done", await newRun.GetResultAsync<string>());
            var history = (await newRun.FetchHistoryAsync()).Events.ToList();
            var failedAt = history.FindIndex(e => e.EventType == EventType.WorkflowTaskFailed);
            var completedAt = history.FindIndex(e => e.EventType == EventType.ChildWorkflowExecutionCompleted);
            Assert.True(failedAt >= 0 && completedAt > failedAt, "the child's outcome is reapplied after the reset point");
            var started = Assert.Single(history, e => e.EventType == EventType.ChildWorkflowExecutionStarted);
            Assert.Equal(started.EventId, history[completedAt].ChildWorkflowExecutionCompletedEventAttributes.StartedEventId);
        });
    }
}
