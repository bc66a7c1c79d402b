using Bastion.Server;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Greeter = Bastion.Tests.Cluster.ClusterTests.Greeter;
using Greets = Bastion.Tests.Cluster.ClusterTests.Greets;

namespace Bastion.Tests.Integration;

/// <summary>
/// Eager activities (Temporal's <c>system.enableActivityEagerExecution</c>): an activity whose ScheduleActivityTask
/// command asks for it is started in the workflow task's completion and comes back in its response — matching never
/// sees it, no poll gets it — and completes like any other; a command that does not ask, or a server with the key off,
/// goes through matching as before.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class EagerActivityTests(ServerFixture fixture)
{
    private static Temporalio.Api.Command.V1.Command Eager(string activityId, string taskQueue)
    {
        var command = RawDriver.ScheduleActivity(activityId, "Greet", taskQueue);
        command.ScheduleActivityTaskCommandAttributes.RequestEagerExecution = true;
        command.ScheduleActivityTaskCommandAttributes.HeartbeatTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(20));
        return command;
    }

    [Fact]
    public async Task AnActivityAskedToRunEagerly_ComesBackInTheCompletion_StartedForThatWorker_AndCompletes()
    {
        var raw = new RawDriver(fixture.Client);
        var taskQueue = ServerFixture.NewTaskQueue();
        var workflowId = "eager-" + Guid.NewGuid().ToString("N");
        await raw.StartAsync(workflowId, taskQueue);

        var first = await raw.PollWorkflowTaskAsync(taskQueue);
        var completed = await raw.CompleteAsync(first, Eager("a1", taskQueue), RawDriver.ScheduleActivity("a2", "Greet", taskQueue));

        // a1 asked and came back started; a2 did not ask and waits in matching.
        var task = Assert.Single(completed.ActivityTasks);
        Assert.Equal("a1", task.ActivityId);
        Assert.Equal("Greet", task.ActivityType.Name);
        Assert.Equal(workflowId, task.WorkflowExecution.WorkflowId);
        Assert.Equal("RawWorkflow", task.WorkflowType.Name);
        Assert.Equal("default", task.WorkflowNamespace);
        Assert.Equal(1, task.Attempt);
        Assert.Equal(TimeSpan.FromSeconds(20), task.HeartbeatTimeout.ToTimeSpan());
        Assert.NotNull(task.StartedTime);

        var described = await raw.Service.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = workflowId } });
        var pending = described.PendingActivities.ToDictionary(a => a.ActivityId);
        Assert.Equal(PendingActivityState.Started, pending["a1"].State);
        Assert.Equal("raw-driver", pending["a1"].LastWorkerIdentity);
        Assert.Equal(PendingActivityState.Scheduled, pending["a2"].State);

        // The poll gets a2, never a1 (it was never queued).
        var polled = await raw.PollActivityTaskAsync(taskQueue);
        Assert.Equal("a2", polled.ActivityId);

        await raw.Service.RespondActivityTaskCompletedAsync(new() { Namespace = "default", TaskToken = task.TaskToken, Identity = "raw-driver" });
        await raw.Service.RespondActivityTaskCompletedAsync(new() { Namespace = "default", TaskToken = polled.TaskToken, Identity = "raw-driver" });
        var history = await raw.HistoryAsync(workflowId);
        Assert.Equal(2, history.Count(e => e.EventType == EventType.ActivityTaskStarted));
        Assert.Equal(2, history.Count(e => e.EventType == EventType.ActivityTaskCompleted));
        var startedA1 = history.First(e => e.EventType == EventType.ActivityTaskStarted
            && history.Single(s => s.EventId == e.ActivityTaskStartedEventAttributes.ScheduledEventId).ActivityTaskScheduledEventAttributes.ActivityId == "a1");
        Assert.Equal("raw-driver", startedA1.ActivityTaskStartedEventAttributes.Identity);
    }

    [Fact]
    public async Task TheSdksWorker_RunsItsActivitiesEagerly_AndWithTheKeyOff_ThroughMatching()
    {
        // The SDK asks for eager execution for an activity on its own task queue: the run completes either way.
        await fixture.WithWorkerAsync(
            o => o.AddWorkflow<Greets>().AddAllActivities(typeof(Greeter), null), // the cluster tests' workflow and activity
            async taskQueue =>
            {
                var result = await fixture.Client.ExecuteWorkflowAsync((Greets wf) => wf.RunAsync("eager"), new("eager-sdk-" + Guid.NewGuid().ToString("N"), taskQueue));
                Assert.Equal("Hello, eager", result);
            });

        var directory = Path.Combine(Path.GetTempPath(), "bastion-eager-off-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var options = new ServerOptions { Port = 0, DatabaseFile = Path.Combine(directory, "bastion.db"), LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.DynamicConfig["system.enableActivityEagerExecution"] = "false";
        try
        {
            await using var server = await BastionServer.StartAsync(options);
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            var raw = new RawDriver(client);
            var taskQueue = ServerFixture.NewTaskQueue();
            await raw.StartAsync("eager-off-" + Guid.NewGuid().ToString("N"), taskQueue);
            var completed = await raw.CompleteAsync(await raw.PollWorkflowTaskAsync(taskQueue), Eager("a1", taskQueue));
            Assert.Empty(completed.ActivityTasks);
            Assert.Equal("a1", (await raw.PollActivityTaskAsync(taskQueue)).ActivityId);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
