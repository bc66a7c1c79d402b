using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Converters;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class HistoryAndActivityApiTests(ServerFixture fixture)
{
    private RawDriver Raw => new(fixture.Client);

    [Fact]
    public async Task History_PagesWithTokens_AndThePagesMakeTheWholeHistory()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "paging-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.CompleteWorkflow());

        var ids = new List<long>();
        var request = new GetWorkflowExecutionHistoryRequest { Namespace = "default", Execution = new() { WorkflowId = id }, MaximumPageSize = 2 };
        var pages = 0;
        do
        {
            var page = await Raw.Service.GetWorkflowExecutionHistoryAsync(request);
            Assert.True(page.History.Events.Count <= 2);
            ids.AddRange(page.History.Events.Select(e => e.EventId));
            request.NextPageToken = page.NextPageToken;
            pages++;
        }
        while (!request.NextPageToken.IsEmpty && pages < 10);

        Assert.Equal([1L, 2, 3, 4, 5], ids);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task History_LongPoll_EndsBeforeTheDeadline_WithAnEmptyPageAndAToken_ThenSeesNewEvents()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "longpoll-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var request = new GetWorkflowExecutionHistoryRequest { Namespace = "default", Execution = new() { WorkflowId = id }, WaitNewEvent = true };
        var first = await Raw.Service.GetWorkflowExecutionHistoryAsync(request);
        Assert.Equal(2, first.History.Events.Count); // what exists is returned at once
        request.NextPageToken = first.NextPageToken;
        Assert.False(request.NextPageToken.IsEmpty);

        var idle = await Raw.Service.GetWorkflowExecutionHistoryAsync(request, new RpcOptions { Timeout = TimeSpan.FromSeconds(3) });
        Assert.Empty(idle.History.Events);
        Assert.False(idle.NextPageToken.IsEmpty);

        var waiting = Raw.Service.GetWorkflowExecutionHistoryAsync(request, new RpcOptions { Timeout = TimeSpan.FromSeconds(20) });
        await Raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "s", RequestId = Guid.NewGuid().ToString() });
        var woken = await waiting;
        Assert.Equal(EventType.WorkflowExecutionSignaled, woken.History.Events[0].EventType);
    }

    [Fact]
    public async Task ActivityById_HeartbeatAndCompletion_Work()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "byid-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.ScheduleActivity("act-1", "Work", tq));
        await Raw.PollActivityTaskAsync(tq);

        var heartbeat = await Raw.Service.RecordActivityTaskHeartbeatByIdAsync(new() { Namespace = "default", WorkflowId = id, ActivityId = "act-1", Details = new() { Payloads_ = { await DataConverter.Default.ToPayloadsAsync(["half"]) } } });
        Assert.False(heartbeat.CancelRequested);
        await Raw.Service.RespondActivityTaskCompletedByIdAsync(new() { Namespace = "default", WorkflowId = id, ActivityId = "act-1", Result = new() { Payloads_ = { await DataConverter.Default.ToPayloadsAsync(["done"]) } } });
        var history = await Raw.HistoryAsync(id);
        var completed = history.Single(e => e.EventType == EventType.ActivityTaskCompleted).ActivityTaskCompletedEventAttributes;
        Assert.Equal("done", await DataConverter.Default.ToValueAsync<string>(completed.Result.Payloads_[0]));
        Assert.Equal(EventType.ActivityTaskStarted, history.Single(e => e.EventId == completed.StartedEventId).EventType);

        var again = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.RespondActivityTaskCompletedByIdAsync(new() { Namespace = "default", WorkflowId = id, ActivityId = "act-1" }));
        Assert.Equal(RpcException.StatusCode.NotFound, again.Code);
    }

    public sealed class CancellableActivities
    {
        [Activity]
        public async Task<string> WaitForCancelAsync()
        {
            while (true)
            {
                ActivityExecutionContext.Current.Heartbeat();
                await Task.Delay(100, ActivityExecutionContext.Current.CancellationToken);
            }
        }
    }

    [Workflow]
    public sealed class CancelActivityWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            using var cts = new CancellationTokenSource();
            var activity = Workflow.ExecuteActivityAsync(
                (CancellableActivities a) => a.WaitForCancelAsync(),
                new()
                {
                    StartToCloseTimeout = TimeSpan.FromSeconds(30),
                    HeartbeatTimeout = TimeSpan.FromSeconds(2),
                    CancellationToken = cts.Token,
                    CancellationType = ActivityCancellationType.WaitCancellationCompleted,
                });
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(500));
#pragma warning disable CA1849 // CancelAsync would run callbacks on the thread pool, outside the workflow scheduler.
            cts.Cancel();
#pragma warning restore CA1849
            try
            {
                await activity;
                return "completed";
            }
            catch (ActivityFailureException e) when (e.InnerException is CanceledFailureException)
            {
                return "canceled";
            }
        }
    }

    [Fact]
    public async Task CancelingAStartedActivity_ReachesItThroughHeartbeats_AndEndsCanceled()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<CancelActivityWorkflow>().AddAllActivities(new CancellableActivities()), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CancelActivityWorkflow wf) => wf.RunAsync(), new("cancel-activity-" + Guid.NewGuid(), tq));
            Assert.Equal("canceled", await handle.GetResultAsync());
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Contains(EventType.ActivityTaskCancelRequested, events);
            Assert.Contains(EventType.ActivityTaskCanceled, events);
        });
    }

    [Fact]
    public async Task MemoAndSearchAttributesGivenAtStart_AreShownByDescribe()
    {
        var handle = await fixture.Client.StartWorkflowAsync(
            "AnyWorkflow",
            [],
            new("memo-" + Guid.NewGuid(), ServerFixture.NewTaskQueue()) { Memo = new Dictionary<string, object> { ["owner"] = "team-a" } });
        var description = await handle.DescribeAsync();
        Assert.Equal("team-a", await description.Memo["owner"].ToValueAsync<string>());
        await handle.TerminateAsync("done");
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated, (await handle.DescribeAsync()).Status);
    }

    [Fact]
    public async Task HistoryReverse_PagesFromTheNewestEvent()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "reverse-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.CompleteWorkflow());
        var request = new GetWorkflowExecutionHistoryReverseRequest { Namespace = "default", Execution = new() { WorkflowId = id }, MaximumPageSize = 3 };
        var first = await Raw.Service.GetWorkflowExecutionHistoryReverseAsync(request);
        Assert.Equal([5L, 4, 3], first.History.Events.Select(e => e.EventId));
        request.NextPageToken = first.NextPageToken;
        var second = await Raw.Service.GetWorkflowExecutionHistoryReverseAsync(request);
        Assert.Equal([2L, 1], second.History.Events.Select(e => e.EventId));
        Assert.True(second.NextPageToken.IsEmpty);
    }

    [Fact]
    public async Task DeleteWorkflowExecution_TerminatesAndRemovesEverything()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "delete-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.Service.DeleteWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id } });
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.HistoryAsync(id));
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);

        // The id is free again.
        var again = await Raw.StartAsync(id, tq);
        Assert.False(string.IsNullOrEmpty(again.RunId));
    }

    [Fact]
    public async Task DescribeTaskQueue_ListsRecentPollers()
    {
        var tq = ServerFixture.NewTaskQueue();
        await Raw.Service.PollActivityTaskQueueAsync(
            new PollActivityTaskQueueRequest { Namespace = "default", TaskQueue = new() { Name = tq }, Identity = "poller-7" },
            new RpcOptions { Timeout = TimeSpan.FromSeconds(2) });
        var description = await Raw.Service.DescribeTaskQueueAsync(new()
        {
            Namespace = "default",
            TaskQueue = new() { Name = tq },
#pragma warning disable CS0612
            TaskQueueType = Temporalio.Api.Enums.V1.TaskQueueType.Activity,
#pragma warning restore CS0612
        });
        Assert.Equal("poller-7", Assert.Single(description.Pollers).Identity);
    }

    [Fact]
    public async Task ActivityEndingDuringAWorkflowTask_IsBuffered_WithItsStartedEventLinked()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "buffered-activity-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.ScheduleActivity("act-1", "Work", tq));
        var activity = await Raw.PollActivityTaskAsync(tq);
        await Raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "s", RequestId = Guid.NewGuid().ToString() });
        var inFlight = await Raw.PollWorkflowTaskAsync(tq);

        await Raw.Service.RespondActivityTaskCompletedAsync(new() { Namespace = "default", TaskToken = activity.TaskToken });
        await Raw.CompleteAsync(inFlight);

        var history = await Raw.HistoryAsync(id);
        var started = history.Single(e => e.EventType == EventType.ActivityTaskStarted);
        var completed = history.Single(e => e.EventType == EventType.ActivityTaskCompleted);
        Assert.Equal(started.EventId, completed.ActivityTaskCompletedEventAttributes.StartedEventId);
        Assert.Equal(history.Last(e => e.EventType == EventType.WorkflowTaskCompleted).EventId + 1, started.EventId); // written after the task it waited for
    }
}
