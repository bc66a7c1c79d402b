using Bastion.Tests.Integration;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Engine;

/// <summary>Workflow-task timeouts and stickiness, driven by hand through the SDK's raw client.</summary>
[Collection(ServerCollection.Name)]
public sealed class WorkflowTaskLifecycleTests(ServerFixture fixture)
{
    private RawDriver Raw => new(fixture.Client);

    [Fact]
    public async Task UnansweredTask_TimesOut_AndIsRetriedOnTheNormalQueue()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "wft-timeout-" + Guid.NewGuid();
        await Raw.Service.StartWorkflowExecutionAsync(new StartWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowId = id,
            WorkflowType = new() { Name = "RawWorkflow" },
            TaskQueue = new() { Name = tq },
            WorkflowTaskTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            RequestId = Guid.NewGuid().ToString(),
        });
        var first = await Raw.PollWorkflowTaskAsync(tq);
        var second = await Raw.PollWorkflowTaskAsync(tq); // arrives once the first has timed out
        Assert.Equal(2, second.Attempt);
        var history = await Raw.HistoryAsync(id);
        var timedOut = history.Single(e => e.EventType == EventType.WorkflowTaskTimedOut).WorkflowTaskTimedOutEventAttributes;
        Assert.Equal(TimeoutType.StartToClose, timedOut.TimeoutType);

        var late = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => Raw.CompleteAsync(first, RawDriver.CompleteWorkflow()));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.NotFound, late.Code);
        await Raw.CompleteAsync(second, RawDriver.CompleteWorkflow());
    }

    [Fact]
    public async Task StickyTask_NobodyPolls_FallsBackToTheNormalQueueWithFullHistory()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "sticky-fallback-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await CompleteStickyAsync(await Raw.PollWorkflowTaskAsync(tq), "sticky-" + tq, TimeSpan.FromSeconds(1));
        await SignalAsync(id);

        var task = await Raw.PollWorkflowTaskAsync(tq);
        Assert.Equal(1, task.History.Events[0].EventId);
        var timedOut = (await Raw.HistoryAsync(id)).Single(e => e.EventType == EventType.WorkflowTaskTimedOut).WorkflowTaskTimedOutEventAttributes;
        Assert.Equal(TimeoutType.ScheduleToStart, timedOut.TimeoutType);
        await Raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
    }

    [Fact]
    public async Task StickyPoll_GetsPartialHistoryFromPreviousStartedEvent()
    {
        var tq = ServerFixture.NewTaskQueue();
        var sticky = "sticky-" + tq;
        var id = "sticky-partial-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await CompleteStickyAsync(await Raw.PollWorkflowTaskAsync(tq), sticky, TimeSpan.FromSeconds(10));
        await SignalAsync(id);

        var task = await Raw.PollWorkflowTaskAsync(sticky);
        Assert.Equal(3, task.PreviousStartedEventId);
        Assert.Equal(task.PreviousStartedEventId + 1, task.History.Events[0].EventId);
        Assert.Equal(task.StartedEventId, task.History.Events[^1].EventId);
        await Raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
    }

    [Fact]
    public async Task ShutdownWorker_MovesPendingStickyTasksToTheNormalQueueAtOnce()
    {
        var tq = ServerFixture.NewTaskQueue();
        var sticky = "sticky-" + tq;
        var id = "sticky-shutdown-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await CompleteStickyAsync(await Raw.PollWorkflowTaskAsync(tq), sticky, TimeSpan.FromMinutes(5));
        await SignalAsync(id);
        await Raw.Service.ShutdownWorkerAsync(new() { Namespace = "default", StickyTaskQueue = sticky, Identity = "raw-driver" });

        var task = await Raw.PollWorkflowTaskAsync(tq); // would take 5 minutes without the shutdown
        Assert.Equal(1, task.History.Events[0].EventId);
        await Raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
    }

    [Fact]
    public async Task ResetStickyTaskQueue_MovesThePendingTaskToTheNormalQueue()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "sticky-reset-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await CompleteStickyAsync(await Raw.PollWorkflowTaskAsync(tq), "sticky-" + tq, TimeSpan.FromMinutes(5));
        await SignalAsync(id);
        await Raw.Service.ResetStickyTaskQueueAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } });

        var task = await Raw.PollWorkflowTaskAsync(tq);
        await Raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
        Assert.Equal(EventType.WorkflowExecutionCompleted, (await Raw.HistoryAsync(id))[^1].EventType);
    }

    [Fact]
    public async Task RunTimeout_ClosesTheWorkflowAsTimedOut()
    {
        var id = "run-timeout-" + Guid.NewGuid();
        await Raw.Service.StartWorkflowExecutionAsync(new StartWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowId = id,
            WorkflowType = new() { Name = "RawWorkflow" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            WorkflowRunTimeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)),
            RequestId = Guid.NewGuid().ToString(),
        });
        var handle = fixture.Client.GetWorkflowHandle(id);
        var error = await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsType<Temporalio.Exceptions.TimeoutFailureException>(error.InnerException);
        Assert.Equal(EventType.WorkflowExecutionTimedOut, (await Raw.HistoryAsync(id))[^1].EventType);
    }

    [Fact]
    public async Task StartDelay_HoldsTheFirstWorkflowTask_EvenWhenSignaled()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "delayed-" + Guid.NewGuid();
        await Raw.Service.StartWorkflowExecutionAsync(new StartWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowId = id,
            WorkflowType = new() { Name = "RawWorkflow" },
            TaskQueue = new() { Name = tq },
            WorkflowStartDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),
            RequestId = Guid.NewGuid().ToString(),
        });
        await SignalAsync(id);
        var task = await Raw.PollWorkflowTaskAsync(tq);
        var events = task.History.Events;
        Assert.True(events[2].EventTime.ToDateTime() - events[0].EventTime.ToDateTime() >= TimeSpan.FromSeconds(2), "the first task was scheduled before the delay passed");
        Assert.Equal(TimeSpan.FromSeconds(2), task.History.Events[0].WorkflowExecutionStartedEventAttributes.FirstWorkflowTaskBackoff.ToTimeSpan());
        Assert.Equal([EventType.WorkflowExecutionStarted, EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted], task.History.Events.Select(e => e.EventType));
        await Raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
    }

    [Fact]
    public async Task RepeatedFailures_AreTransient_OneFailedEventWhateverTheAttempts_AndSignalsStillLand()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "transient-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var task = await Raw.PollWorkflowTaskAsync(tq);
            Assert.Equal(attempt, task.Attempt);
            await Raw.Service.RespondWorkflowTaskFailedAsync(new()
            {
                Namespace = "default",
                TaskToken = task.TaskToken,
                Cause = WorkflowTaskFailedCause.WorkflowWorkerUnhandledFailure,
                Failure = new() { Message = "worker bug" },
            });
        }

        var history = await Raw.HistoryAsync(id);
        Assert.Single(history, e => e.EventType == EventType.WorkflowTaskFailed);
        Assert.Equal(EventType.WorkflowTaskFailed, history[^1].EventType);

        // A signal while attempt 4 waits: the attempt's scheduled event is written first, ids stay in order.
        await SignalAsync(id);
        var fourth = await Raw.PollWorkflowTaskAsync(tq);
        Assert.Equal(4, fourth.Attempt);
        Assert.Equal(EventType.WorkflowTaskStarted, fourth.History.Events[^1].EventType);
        Assert.Equal(fourth.StartedEventId, fourth.History.Events[^1].EventId);
        await Raw.CompleteAsync(fourth, RawDriver.CompleteWorkflow());
        var final = await Raw.HistoryAsync(id);
        Assert.Equal(Enumerable.Range(1, final.Count).Select(i => (long)i), final.Select(e => e.EventId));
        Assert.Equal(
            [EventType.WorkflowTaskFailed, EventType.WorkflowTaskScheduled, EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskStarted, EventType.WorkflowTaskCompleted, EventType.WorkflowExecutionCompleted],
            final.Skip(history.Count - 1).Select(e => e.EventType));
    }

    private Task CompleteStickyAsync(PollWorkflowTaskQueueResponse task, string stickyQueue, TimeSpan scheduleToStart) =>
        Raw.Service.RespondWorkflowTaskCompletedAsync(new RespondWorkflowTaskCompletedRequest
        {
            Namespace = "default",
            TaskToken = task.TaskToken,
            Identity = "raw-driver",
            StickyAttributes = new()
            {
                WorkerTaskQueue = new() { Name = stickyQueue, Kind = TaskQueueKind.Sticky, NormalName = task.WorkflowExecutionTaskQueue.Name },
                ScheduleToStartTimeout = Duration.FromTimeSpan(scheduleToStart),
            },
        });

    private Task SignalAsync(string id) => Raw.Service.SignalWorkflowExecutionAsync(new()
    {
        Namespace = "default",
        WorkflowExecution = new() { WorkflowId = id },
        SignalName = "wake",
        RequestId = Guid.NewGuid().ToString(),
    });
}
