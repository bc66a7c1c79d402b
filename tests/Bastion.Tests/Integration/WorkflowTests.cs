using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class WorkflowTests(ServerFixture fixture)
{
    private static readonly string[] s_letters = ["a", "b", "c", "d", "e"];

    [Workflow]
    public sealed class TimerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(bool cancel)
        {
            if (!cancel)
            {
                var before = Workflow.UtcNow;
                await Workflow.DelayAsync(TimeSpan.FromSeconds(1));
                return Workflow.UtcNow - before >= TimeSpan.FromSeconds(1) ? "fired" : "too early";
            }

            using var cts = new CancellationTokenSource();
            var timer = Workflow.DelayAsync(TimeSpan.FromHours(1), cts.Token);
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(100));
#pragma warning disable CA1849 // CancelAsync would run callbacks on the thread pool, outside the workflow scheduler.
            cts.Cancel();
#pragma warning restore CA1849
            try
            {
                await timer;
                return "fired";
            }
            catch (TaskCanceledException)
            {
                return "canceled";
            }
        }
    }

    [Workflow]
    public sealed class SignalWorkflow
    {
        private readonly List<string> _received = [];
        private bool _done;

        [WorkflowRun]
        public async Task<List<string>> RunAsync(int expected)
        {
            await Workflow.WaitConditionAsync(() => _received.Count >= expected || _done);
            return _received;
        }

        [WorkflowSignal]
        public Task AddAsync(string value)
        {
            _received.Add(value);
            return Task.CompletedTask;
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _done = true;
            return Task.CompletedTask;
        }

        [WorkflowQuery]
        public string Summary() => string.Join(",", _received);

        [WorkflowQuery]
        public string Fail() => throw new InvalidOperationException("query refused");
    }

    [Workflow]
    public sealed class EverythingWorkflow
    {
        private string? _signal;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            var a = await Workflow.ExecuteActivityAsync(() => Echo("one"), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(200));
            var local = await Workflow.ExecuteLocalActivityAsync(() => Echo("local"), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });
            await Workflow.WaitConditionAsync(() => _signal != null);
            var b = await Workflow.ExecuteActivityAsync(() => Echo("two"), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });
            return $"{a}|{local}|{_signal}|{b}";
        }

        [WorkflowSignal]
        public Task GoAsync(string value)
        {
            _signal = value;
            return Task.CompletedTask;
        }

        [Activity]
        public static string Echo(string value) => value;
    }

    [Theory]
    [InlineData(false, "fired", EventType.TimerFired)]
    [InlineData(true, "canceled", EventType.TimerCanceled)]
    public async Task Timer_FiresOrIsCanceled(bool cancel, string expected, EventType expectedEvent)
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<TimerWorkflow>(), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((TimerWorkflow wf) => wf.RunAsync(cancel), new("timer-" + Guid.NewGuid(), tq));
            Assert.Equal(expected, await handle.GetResultAsync());
            var history = await handle.FetchHistoryAsync();
            Assert.Contains(history.Events, e => e.EventType == expectedEvent);
        });
    }

    [Fact]
    public async Task Signals_ArriveInOrder()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<SignalWorkflow>(), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((SignalWorkflow wf) => wf.RunAsync(5), new("signal-" + Guid.NewGuid(), tq));
            foreach (var value in s_letters)
            {
                await handle.SignalAsync(wf => wf.AddAsync(value));
            }

            Assert.Equal(["a", "b", "c", "d", "e"], await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task Query_AnswersWhileOpenAndAfterClose_AndFailuresSurface()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<SignalWorkflow>(), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((SignalWorkflow wf) => wf.RunAsync(10), new("query-" + Guid.NewGuid(), tq));
            await handle.SignalAsync(wf => wf.AddAsync("x"));
            await handle.SignalAsync(wf => wf.AddAsync("y"));
            Assert.Equal("x,y", await handle.QueryAsync(wf => wf.Summary()));
            var failure = await Assert.ThrowsAsync<WorkflowQueryFailedException>(() => handle.QueryAsync(wf => wf.Fail()));
            Assert.Contains("query refused", failure.Message, StringComparison.Ordinal);

            await handle.SignalAsync(wf => wf.FinishAsync());
            await handle.GetResultAsync();
            Assert.Equal("x,y", await handle.QueryAsync(wf => wf.Summary()));
        });
    }

    [Fact]
    public async Task Query_OnClosedWorkflow_WithoutCache_ReplaysFullHistory()
    {
        await fixture.WithWorkerAsync(
            o => o.AddWorkflow<SignalWorkflow>(),
            async tq =>
            {
                var handle = await fixture.Client.StartWorkflowAsync((SignalWorkflow wf) => wf.RunAsync(1), new("query-nocache-" + Guid.NewGuid(), tq));
                await handle.SignalAsync(wf => wf.AddAsync("only"));
                await handle.GetResultAsync();
                Assert.Equal("only", await handle.QueryAsync(wf => wf.Summary()));
            },
            maxCachedWorkflows: 0);
    }

    [Fact]
    public async Task Workflow_SurvivesNoWorkflowCache()
    {
        await fixture.WithWorkerAsync(
            o => o.AddWorkflow<EverythingWorkflow>().AddActivity(EverythingWorkflow.Echo),
            async tq =>
            {
                var handle = await fixture.Client.StartWorkflowAsync((EverythingWorkflow wf) => wf.RunAsync(), new("nocache-" + Guid.NewGuid(), tq));
                await handle.SignalAsync(wf => wf.GoAsync("sig"));
                Assert.Equal("one|local|sig|two", await handle.GetResultAsync());
                var history = await handle.FetchHistoryAsync();
                Assert.Contains(history.Events, e => e.EventType == EventType.MarkerRecorded);
            },
            maxCachedWorkflows: 0);
    }

    public sealed class FlakyActivities
    {
        public TaskCompletionSource Started { get; } = new();

        public TaskCompletionSource Release { get; } = new();

        [Activity]
        public async Task<string> Flaky()
        {
            if (ActivityExecutionContext.Current.Info.Attempt < 3)
            {
                throw new InvalidOperationException("not yet");
            }

            Started.TrySetResult();
            await Release.Task;
            return "ok";
        }
    }

    [Fact]
    public async Task Describe_ShowsStatusTypeQueueAndPendingActivityAttempts()
    {
        var activities = new FlakyActivities();
        await fixture.WithWorkerAsync(
            o => o.AddWorkflow<DescribeWorkflow>().AddAllActivities(activities),
            async tq =>
            {
                var id = "describe-" + Guid.NewGuid();
                var handle = await fixture.Client.StartWorkflowAsync((DescribeWorkflow wf) => wf.RunAsync(), new(id, tq));
                await activities.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
                var description = await handle.DescribeAsync();
                Assert.Equal(WorkflowExecutionStatus.Running, description.Status);
                Assert.Equal("DescribeWorkflow", description.WorkflowType);
                Assert.Equal(tq, description.TaskQueue);
                Assert.Equal(id, description.Id);
                var raw = await fixture.Client.Connection.WorkflowService.DescribeWorkflowExecutionAsync(new()
                {
                    Namespace = "default",
                    Execution = new() { WorkflowId = id },
                });
                var pending = Assert.Single(raw.PendingActivities);
                Assert.Equal("Flaky", pending.ActivityType.Name);
                Assert.Equal(3, pending.Attempt);
                Assert.Equal(PendingActivityState.Started, pending.State);
                Assert.Equal("not yet", pending.LastFailure.Message);
                activities.Release.SetResult();
                Assert.Equal("ok", await handle.GetResultAsync());
                description = await handle.DescribeAsync();
                Assert.Equal(WorkflowExecutionStatus.Completed, description.Status);
                Assert.NotNull(description.CloseTime);
            });
    }

    [Workflow]
    public sealed class DescribeWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Workflow.ExecuteActivityAsync<string>(
            "Flaky",
            [],
            new() { StartToCloseTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(50), BackoffCoefficient = 1 } });
    }

    [Fact]
    public async Task DuplicateStart_OfRunningWorkflow_IsAlreadyStartedWithRunId()
    {
        var id = "dup-" + Guid.NewGuid();
        var tq = ServerFixture.NewTaskQueue();
        var first = await fixture.Client.StartWorkflowAsync((SignalWorkflow wf) => wf.RunAsync(1), new(id, tq));
        var error = await Assert.ThrowsAsync<WorkflowAlreadyStartedException>(
            () => fixture.Client.StartWorkflowAsync((SignalWorkflow wf) => wf.RunAsync(1), new(id, tq)));
        Assert.Equal(first.ResultRunId, error.RunId);
        await first.TerminateAsync("test done");
    }

    [Fact]
    public async Task Start_WithSameRequestId_ReturnsTheSameRun()
    {
        var service = fixture.Client.Connection.WorkflowService;
        var request = new Temporalio.Api.WorkflowService.V1.StartWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowId = "dedupe-" + Guid.NewGuid(),
            WorkflowType = new() { Name = "Anything" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
        };
        var first = await service.StartWorkflowExecutionAsync(request);
        var second = await service.StartWorkflowExecutionAsync(request);
        Assert.Equal(first.RunId, second.RunId);

        request.RequestId = Guid.NewGuid().ToString();
        var error = await Assert.ThrowsAsync<RpcException>(() => service.StartWorkflowExecutionAsync(request));
        Assert.Equal(RpcException.StatusCode.AlreadyExists, error.Code);
    }

    [Fact]
    public async Task ConflictPolicyTerminateExisting_ReplacesTheRunningWorkflow()
    {
        var id = "replace-" + Guid.NewGuid();
        var tq = ServerFixture.NewTaskQueue();
        var first = await fixture.Client.StartWorkflowAsync((SignalWorkflow wf) => wf.RunAsync(1), new(id, tq));
        var second = await fixture.Client.StartWorkflowAsync(
            (SignalWorkflow wf) => wf.RunAsync(1),
            new(id, tq) { IdConflictPolicy = Temporalio.Api.Enums.V1.WorkflowIdConflictPolicy.TerminateExisting });
        Assert.NotEqual(first.ResultRunId, second.ResultRunId);
        Assert.Equal(WorkflowExecutionStatus.Terminated, (await fixture.Client.GetWorkflowHandle(id, first.ResultRunId).DescribeAsync()).Status);
        Assert.Equal(WorkflowExecutionStatus.Running, (await fixture.Client.GetWorkflowHandle(id).DescribeAsync()).Status);
        await second.TerminateAsync("done");
    }
}
