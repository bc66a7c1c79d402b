using System.Collections.Concurrent;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Task queue priority and fairness through the official SDK: a backlog built while no worker polls is handed to a
/// worker with one slot in priority order (workflow tasks with their run's priority, activities with their own or their
/// workflow's), also after a restart; with <c>matching.enableFairness</c>, two fairness keys weighted 1:3 share
/// dispatch 1:3. Asserts orders and counts, never timings.
/// </summary>
public sealed class TaskQueuePriorityTests : IAsyncLifetime
{
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> s_order = new();

    private readonly FileServer _server = new() { Configure = o => o.DynamicConfig["matching.enableFairness"] = "true" };

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    private static ConcurrentQueue<string> OrderOf(string taskQueue) => s_order.GetOrAdd(taskQueue, _ => new ConcurrentQueue<string>());

    [Workflow]
    public sealed class RecordingWorkflow
    {
        [WorkflowRun]
        public Task RunAsync()
        {
            OrderOf(Workflow.Info.TaskQueue).Enqueue(Workflow.Info.WorkflowId);
            return Task.CompletedTask;
        }
    }

    /// <summary>Schedules four activities on another queue at once: two with their own priority key, one inheriting, one lower.</summary>
    [Workflow]
    public sealed class SchedulingWorkflow
    {
        [WorkflowRun]
        public async Task RunAsync(string activityQueue)
        {
            ActivityOptions Options(string id, int? key) => new()
            {
                TaskQueue = activityQueue,
                ActivityId = id,
                StartToCloseTimeout = TimeSpan.FromMinutes(1),
                Priority = key is { } k ? new Priority(priorityKey: k) : null,
            };

            await Task.WhenAll(
                Workflow.ExecuteActivityAsync(() => Record(), Options("own-5", 5)),
                Workflow.ExecuteActivityAsync(() => Record(), Options("inherited-4", null)),
                Workflow.ExecuteActivityAsync(() => Record(), Options("own-1", 1)),
                Workflow.ExecuteActivityAsync(() => Record(), Options("own-2", 2)));
        }

        [Activity]
        public static void Record() => OrderOf(ActivityExecutionContext.Current.Info.TaskQueue).Enqueue(ActivityExecutionContext.Current.Info.ActivityId);
    }

    /// <summary>Continues as new once, then starts a child without a priority of its own, which reports the priority it runs with.</summary>
    [Workflow]
    public sealed class InheritingWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(bool continued)
        {
            if (!continued)
            {
                throw Workflow.CreateContinueAsNewException((InheritingWorkflow wf) => wf.RunAsync(true));
            }

            return await Workflow.ExecuteChildWorkflowAsync((InheritingChild wf) => wf.RunAsync());
        }
    }

    [Workflow]
    public sealed class InheritingChild
    {
        [WorkflowRun]
        public Task<string> RunAsync() =>
            Task.FromResult($"{Workflow.Info.Priority?.PriorityKey}/{Workflow.Info.Priority?.FairnessKey}/{Workflow.Info.Priority?.FairnessWeight}");
    }

    private async Task StartAsync(string taskQueue, string id, Priority? priority) =>
        await _server.Client.StartWorkflowAsync((RecordingWorkflow wf) => wf.RunAsync(), new WorkflowOptions(id, taskQueue) { Priority = priority });

    /// <summary>Runs a worker with one workflow task slot (and no sticky cache) until <paramref name="count"/> workflows ran.</summary>
    private async Task<List<string>> RunOneAtATimeAsync(string taskQueue, int count)
    {
        using var worker = new TemporalWorker(_server.Client, new TemporalWorkerOptions(taskQueue)
        {
            MaxConcurrentWorkflowTasks = 1,
            MaxCachedWorkflows = 0,
        }.AddWorkflow<RecordingWorkflow>());
        Assert.True(await worker.ExecuteAsync(() => Eventually.HoldsAsync(() => Task.FromResult(OrderOf(taskQueue).Count >= count), TimeSpan.FromSeconds(90))));
        return [.. OrderOf(taskQueue)];
    }

    private Task<DescribeTaskQueueResponse> StatsAsync(string taskQueue, TaskQueueType type) =>
        _server.Service.DescribeTaskQueueAsync(new DescribeTaskQueueRequest
        {
            Namespace = "default",
            TaskQueue = new TaskQueue { Name = taskQueue },
            TaskQueueType = type,
            ReportStats = true,
        });

    [Fact]
    public async Task AWorkflowBacklog_IsDispatchedInPriorityOrder_FifoWithinALevel()
    {
        var queue = ServerFixture.NewTaskQueue();
        await StartAsync(queue, "p5", new Priority(priorityKey: 5));
        await StartAsync(queue, "p1-a", new Priority(priorityKey: 1));
        await StartAsync(queue, "p3", new Priority(priorityKey: 3));
        await StartAsync(queue, "unset", null);
        await StartAsync(queue, "p2", new Priority(priorityKey: 2));
        await StartAsync(queue, "p1-b", new Priority(priorityKey: 1));

        var stats = await StatsAsync(queue, TaskQueueType.Workflow);
        Assert.Equal(6, stats.Stats.ApproximateBacklogCount);
        Assert.True(stats.Stats.ApproximateBacklogAge.ToTimeSpan() > TimeSpan.Zero && stats.Stats.TasksAddRate > 0, stats.Stats.ToString());
        Assert.Equal(0, stats.Stats.TasksDispatchRate); // no worker yet
        Assert.Equal([(1, 2L), (2, 1L), (3, 2L), (5, 1L)], stats.StatsByPriorityKey.OrderBy(s => s.Key).Select(s => (s.Key, s.Value.ApproximateBacklogCount)));

        Assert.Equal(["p1-a", "p1-b", "p2", "p3", "unset", "p5"], await RunOneAtATimeAsync(queue, 6));
    }

    [Fact]
    public async Task Activities_GoInTheirOwnPriorityOrder_AnActivityWithoutOneTakesItsWorkflows()
    {
        var workflowQueue = ServerFixture.NewTaskQueue();
        var activityQueue = ServerFixture.NewTaskQueue();
        using var workflows = new TemporalWorker(_server.Client, new TemporalWorkerOptions(workflowQueue).AddWorkflow<SchedulingWorkflow>());
        await workflows.ExecuteAsync(async () =>
        {
            var handle = await _server.Client.StartWorkflowAsync(
                (SchedulingWorkflow wf) => wf.RunAsync(activityQueue),
                new WorkflowOptions("scheduler-" + activityQueue, workflowQueue) { Priority = new Priority(priorityKey: 4) });

            // No activity worker yet: the four wait in the backlog, one per priority key.
            Assert.True(await Eventually.HoldsAsync(async () => (await StatsAsync(activityQueue, TaskQueueType.Activity)).Stats?.ApproximateBacklogCount == 4, TimeSpan.FromSeconds(60)));
            var stats = await StatsAsync(activityQueue, TaskQueueType.Activity);
            Assert.Equal([1, 2, 4, 5], stats.StatsByPriorityKey.Keys.Order());

            using var activities = new TemporalWorker(_server.Client, new TemporalWorkerOptions(activityQueue)
            {
                MaxConcurrentActivities = 1,
            }.AddActivity(SchedulingWorkflow.Record));
            await activities.ExecuteAsync(() => handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(90)));
        });

        Assert.Equal(["own-1", "own-2", "inherited-4", "own-5"], OrderOf(activityQueue));
    }

    [Fact]
    public async Task TwoFairnessKeysWeighted1To3_ShareDispatch1To3()
    {
        var queue = ServerFixture.NewTaskQueue();
        for (var i = 0; i < 12; i++)
        {
            await StartAsync(queue, $"heavy-{i}", new Priority(fairnessKey: "heavy", fairnessWeight: 1));
        }

        for (var i = 0; i < 12; i++)
        {
            await StartAsync(queue, $"light-{i}", new Priority(fairnessKey: "light", fairnessWeight: 3));
        }

        // Stride order: per pass of a weight-1 key, three of the weight-3 key — though all of "heavy" came first.
        var first12 = (await RunOneAtATimeAsync(queue, 24)).Take(12).ToList();
        Assert.Equal(9, first12.Count(id => id.StartsWith("light-", StringComparison.Ordinal)));
        Assert.Equal(3, first12.Count(id => id.StartsWith("heavy-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ABacklogRebuiltAfterARestart_KeepsItsPriorities()
    {
        var queue = ServerFixture.NewTaskQueue();
        await StartAsync(queue, "low", new Priority(priorityKey: 5));
        await StartAsync(queue, "default", null);
        await StartAsync(queue, "high", new Priority(priorityKey: 1));

        await _server.RestartAsync();

        Assert.True(await Eventually.HoldsAsync(async () => (await StatsAsync(queue, TaskQueueType.Workflow)).Stats?.ApproximateBacklogCount == 3, TimeSpan.FromSeconds(60)));
        Assert.Equal(["high", "default", "low"], await RunOneAtATimeAsync(queue, 3));
    }

    [Fact]
    public async Task AContinuedRun_KeepsItsPriority_AndAChildWithoutOneInheritsIt()
    {
        var queue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(_server.Client, new TemporalWorkerOptions(queue).AddWorkflow<InheritingWorkflow>().AddWorkflow<InheritingChild>());
        await worker.ExecuteAsync(async () =>
        {
            var handle = await _server.Client.StartWorkflowAsync(
                (InheritingWorkflow wf) => wf.RunAsync(false),
                new WorkflowOptions("inheriting-" + queue, queue) { Priority = new Priority(priorityKey: 2, fairnessKey: "tenant", fairnessWeight: 2.5f) });
            Assert.Equal("2/tenant/2.5", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(90)));

            // The run that continued: its started event carries the priority on.
            var started = (await handle.FetchHistoryAsync()).Events.First().WorkflowExecutionStartedEventAttributes;
            Assert.False(string.IsNullOrEmpty(started.ContinuedExecutionRunId));
            Assert.Equal((2, "tenant", 2.5f), (started.Priority.PriorityKey, started.Priority.FairnessKey, started.Priority.FairnessWeight));
        });
    }
}
