using Bastion.Server;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Worker;
using Temporalio.Worker.Tuning;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Poll answers carry Temporal's poller scaling decisions, and namespaces advertise them: a poll that takes a task from a
/// backlog older than 200 ms is told to add a poll; one that waited a second for its task, to drop one. A worker whose
/// pollers autoscale runs against it as against Temporal.
/// </summary>
public sealed class PollerScalingDecisionTests
{
    private static async Task<(BastionServer Server, RawDriver Raw)> StartAsync(Action<ServerOptions>? configure = null)
    {
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        configure?.Invoke(options);
        var server = await BastionServer.StartAsync(options);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        return (server, new RawDriver(client));
    }

    [Fact]
    public async Task APollFromABacklogOlderThanTheMinimum_IsToldToAddAPoll()
    {
        // A poll slower than a second to answer (a loaded machine) would be told to drop one: not this test's point.
        var (server, raw) = await StartAsync(o => o.DynamicConfig["matching.pollerScalingWaitTime"] = "1m");
        await using var _ = server;
        var taskQueue = ServerFixture.NewTaskQueue();
        for (var i = 0; i < 3; i++)
        {
            await raw.StartAsync($"scale-up-{i}-{Guid.NewGuid():N}", taskQueue);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(400)); // the backlog ages past matching.pollerScalingMinimumBacklog (200 ms)
        var task = await raw.PollWorkflowTaskAsync(taskQueue);
        Assert.Equal(1, task.PollerScalingDecision?.PollRequestDeltaSuggestion);
    }

    [Fact]
    public async Task AnActivityPollThatWaitedASecond_IsToldToDropAPoll()
    {
        var (server, raw) = await StartAsync();
        await using var _ = server;
        var taskQueue = ServerFixture.NewTaskQueue();
        var id = "scale-down-" + Guid.NewGuid().ToString("N");
        await raw.StartAsync(id, taskQueue);
        var workflowTask = await raw.PollWorkflowTaskAsync(taskQueue);

        var activityPoll = raw.PollActivityTaskAsync(taskQueue);
        Assert.True(await Eventually.HoldsAsync(async () => (await raw.Service.DescribeTaskQueueAsync(new DescribeTaskQueueRequest
        {
            Namespace = raw.Namespace,
            TaskQueue = new() { Name = taskQueue },
            TaskQueueType = TaskQueueType.Activity,
        })).Pollers.Count > 0));
        await Task.Delay(TimeSpan.FromMilliseconds(1100)); // past matching.pollerScalingWaitTime (1 s) since the poll began

        await raw.CompleteAsync(workflowTask, RawDriver.ScheduleActivity("a1", "Work", taskQueue));
        var activityTask = await activityPoll;
        Assert.Equal("a1", activityTask.ActivityId);
        Assert.Equal(-1, activityTask.PollerScalingDecision?.PollRequestDeltaSuggestion);
    }

    [Fact]
    public async Task Namespaces_AdvertisePollerAutoscaling_AndAutoEnrollFollowsItsKey()
    {
        var (server, raw) = await StartAsync();
        await using (server)
        {
            var capabilities = (await raw.Service.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "default" })).NamespaceInfo.Capabilities;
            Assert.True(capabilities.PollerAutoscaling);
            Assert.False(capabilities.PollerAutoscalingAutoEnroll);
        }

        var (enrolling, enrollingRaw) = await StartAsync(o => o.DynamicConfig["frontend.pollerAutoscalingAutoEnroll"] = "true");
        await using (enrolling)
        {
            var capabilities = (await enrollingRaw.Service.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "default" })).NamespaceInfo.Capabilities;
            Assert.True(capabilities.PollerAutoscalingAutoEnroll);
        }
    }

    [Workflow]
    public sealed class ScaledWorkflow
    {
        [WorkflowRun]
        public Task<int> RunAsync(int n) =>
            Workflow.ExecuteActivityAsync(() => Twice(n), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });

        [Activity]
        public static int Twice(int n) => n * 2;
    }

    [Fact]
    public async Task AWorkerWithAutoscalingPollers_RunsABurstOfWorkflows()
    {
        var (server, _) = await StartAsync();
        await using var _s = server;
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(n =>
            client.StartWorkflowAsync((ScaledWorkflow wf) => wf.RunAsync(n), new($"burst-{n}-{Guid.NewGuid():N}", taskQueue))));

        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue)
        {
            WorkflowTaskPollerBehavior = new PollerBehavior.Autoscaling(minimum: 1, maximum: 20, initial: 2),
            ActivityTaskPollerBehavior = new PollerBehavior.Autoscaling(minimum: 1, maximum: 20, initial: 2),
        }.AddWorkflow<ScaledWorkflow>().AddActivity(ScaledWorkflow.Twice));
        var outputs = await worker.ExecuteAsync(() => Task.WhenAll(results.Select(h => h.GetResultAsync<int>())).WaitAsync(TimeSpan.FromSeconds(90)));
        Assert.Equal(Enumerable.Range(0, 40).Select(n => n * 2), outputs);
    }
}
