using Bastion.Server;
using Bastion.Tests.Security;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Integration;

/// <summary>
/// A workflow task scheduled while a poll waits on its queue is started for that poll in the transition that schedules
/// it (<c>bastion.workflowTaskSyncStart</c>): one commit, not two — the poll's audit record in it — and the history the
/// worker sees is the usual one. A sticky queue's poll too. With the key off, the poll starts the task in a commit of
/// its own, as before.
/// </summary>
public sealed class WorkflowTaskSyncStartTests
{
    private static async Task<BastionServer> StartServerAsync(bool syncStart)
    {
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        if (!syncStart)
        {
            options.DynamicConfig["bastion.workflowTaskSyncStart"] = "false";
        }

        return await BastionServer.StartAsync(options);
    }

    /// <summary>Until a poll of <paramref name="taskQueue"/> by <paramref name="identity"/> is listed (it is waiting then: both happen under one lock).</summary>
    private static async Task WaitForPollAsync(RawDriver raw, string taskQueue, TaskQueueKind kind = TaskQueueKind.Normal, string identity = "raw-driver") =>
        Assert.True(await Eventually.HoldsAsync(async () => (await raw.Service.DescribeTaskQueueAsync(new DescribeTaskQueueRequest
        {
            Namespace = raw.Namespace,
            TaskQueue = new() { Name = taskQueue, Kind = kind },
            TaskQueueType = TaskQueueType.Workflow,
        })).Pollers.Any(p => p.Identity == identity)));

    private static Task<PollWorkflowTaskQueueResponse> PollAsync(RawDriver raw, string taskQueue, TaskQueueKind kind, string identity = "raw-driver") =>
        raw.Service.PollWorkflowTaskQueueAsync(
            new PollWorkflowTaskQueueRequest { Namespace = raw.Namespace, TaskQueue = new() { Name = taskQueue, Kind = kind }, Identity = identity },
            new() { Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>Starts a run while a poll waits on its queue: the task the poll got and how many transitions were committed meanwhile.</summary>
    private static async Task<(RawDriver Raw, string WorkflowId, PollWorkflowTaskQueueResponse Task, long Writes)> StartWhileAPollWaitsAsync(BastionServer server)
    {
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var raw = new RawDriver(client);
        var taskQueue = ServerFixture.NewTaskQueue();
        var poll = PollAsync(raw, taskQueue, TaskQueueKind.Normal);
        await WaitForPollAsync(raw, taskQueue);

        var before = server.CommitCounters.Writes;
        var id = "sync-start-" + Guid.NewGuid().ToString("N");
        await raw.StartAsync(id, taskQueue);
        var task = await poll;
        return (raw, id, task, server.CommitCounters.Writes - before);
    }

    [Fact]
    public async Task AStartWhileAPollWaits_StartsTheFirstTaskForIt_InTheStartsOwnCommit()
    {
        await using var server = await StartServerAsync(syncStart: true);
        var (raw, id, task, writes) = await StartWhileAPollWaitsAsync(server);

        // One transition wrote the run and started its task: the same time on both events, one write.
        Assert.Equal(1, writes);
        Assert.Equal(
            [EventType.WorkflowExecutionStarted, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted],
            task.History.Events.Select(e => e.EventType));
        var started = task.History.Events[2];
        Assert.Equal((3L, "raw-driver"), (task.StartedEventId, started.WorkflowTaskStartedEventAttributes.Identity));
        Assert.Equal(task.History.Events[0].EventTime, started.EventTime);
        Assert.Equal(started.EventTime, task.StartedTime);

        // The poll's audit record went with that commit, right after the start's.
        var records = await server.AuditEntriesAsync();
        var start = Assert.Single(records, r => r.Record.Operation.EndsWith("/StartWorkflowExecution", StringComparison.Ordinal) && r.Record.Details.GetValueOrDefault("workflow_id") == id);
        var polled = Assert.Single(records, r => r.Record.Operation.EndsWith("/PollWorkflowTaskQueue", StringComparison.Ordinal));
        Assert.Equal((start.Chain, start.Sequence + 1), (polled.Chain, polled.Sequence));

        // The task is an ordinary started task: it completes the run.
        await raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
        var history = await raw.HistoryAsync(id);
        Assert.Equal(EventType.WorkflowExecutionCompleted, history[^1].EventType);
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(e => e.EventId));
    }

    [Fact]
    public async Task ASignalWhileTheStickyPollWaits_StartsTheTaskForIt_WithThePartialHistory()
    {
        await using var server = await StartServerAsync(syncStart: true);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var raw = new RawDriver(client);
        var taskQueue = ServerFixture.NewTaskQueue();
        var sticky = taskQueue + "-sticky";
        var id = "sync-start-sticky-" + Guid.NewGuid().ToString("N");
        await raw.StartAsync(id, taskQueue);
        var first = await raw.PollWorkflowTaskAsync(taskQueue);
        await raw.Service.RespondWorkflowTaskCompletedAsync(new RespondWorkflowTaskCompletedRequest
        {
            Namespace = "default",
            TaskToken = first.TaskToken,
            Identity = "raw-driver",
            StickyAttributes = new()
            {
                WorkerTaskQueue = new() { Name = sticky, Kind = TaskQueueKind.Sticky, NormalName = taskQueue },
                ScheduleToStartTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            },
        });

        var poll = PollAsync(raw, sticky, TaskQueueKind.Sticky);
        await WaitForPollAsync(raw, sticky, TaskQueueKind.Sticky);
        var before = server.CommitCounters;
        await raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "wake", RequestId = Guid.NewGuid().ToString() });
        var task = await poll;

        Assert.Equal(before.Writes + 1, server.CommitCounters.Writes);
        Assert.Equal(
            [EventType.WorkflowTaskCompleted, EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted],
            task.History.Events.Select(e => e.EventType));
        Assert.Equal(task.History.Events[1].EventTime, task.History.Events[3].EventTime);
        Assert.Equal(3, task.PreviousStartedEventId);

        await raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
        Assert.Equal(EventType.WorkflowExecutionCompleted, (await raw.HistoryAsync(id))[^1].EventType);
    }

    [Fact]
    public async Task AContinueAsNewWhileAPollWaits_StartsTheNextRunsFirstTaskForIt_InTheSameCommit()
    {
        await using var server = await StartServerAsync(syncStart: true);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var raw = new RawDriver(client);
        var taskQueue = ServerFixture.NewTaskQueue();
        var id = "sync-start-can-" + Guid.NewGuid().ToString("N");
        var first = await raw.StartAsync(id, taskQueue);
        var task = await raw.PollWorkflowTaskAsync(taskQueue);
        var poll = PollAsync(raw, taskQueue, TaskQueueKind.Normal, "second-worker");
        await WaitForPollAsync(raw, taskQueue, identity: "second-worker");

        var before = server.CommitCounters.Writes;
        await raw.CompleteAsync(task, new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.ContinueAsNewWorkflowExecution,
            ContinueAsNewWorkflowExecutionCommandAttributes = new() { WorkflowType = new() { Name = "RawWorkflow" }, TaskQueue = new() { Name = taskQueue } },
        });
        var next = await poll;

        // One transaction: the old run closed, the new one created with its first task started for the waiting poll.
        Assert.Equal(before + 1, server.CommitCounters.Writes);
        Assert.NotEqual(first.RunId, next.WorkflowExecution.RunId);
        Assert.Equal(
            [EventType.WorkflowExecutionStarted, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted],
            next.History.Events.Select(e => e.EventType));
        Assert.Equal(first.RunId, next.History.Events[0].WorkflowExecutionStartedEventAttributes.ContinuedExecutionRunId);
        Assert.Equal("second-worker", next.History.Events[2].WorkflowTaskStartedEventAttributes.Identity);
        Assert.Equal(next.History.Events[0].EventTime, next.History.Events[2].EventTime);

        await raw.CompleteAsync(next, RawDriver.CompleteWorkflow());
        Assert.Equal(EventType.WorkflowExecutionCompleted, (await raw.HistoryAsync(id))[^1].EventType);
    }

    [Fact]
    public async Task WithTheKeyOff_ThePollStartsTheTaskInACommitOfItsOwn()
    {
        await using var server = await StartServerAsync(syncStart: false);
        var (raw, id, task, writes) = await StartWhileAPollWaitsAsync(server);

        Assert.Equal(2, writes);
        Assert.Equal(3, task.StartedEventId);
        Assert.True(task.History.Events[2].EventTime.ToDateTime() > task.History.Events[0].EventTime.ToDateTime());
        await raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
        Assert.Equal(EventType.WorkflowExecutionCompleted, (await raw.HistoryAsync(id))[^1].EventType);
    }
}
