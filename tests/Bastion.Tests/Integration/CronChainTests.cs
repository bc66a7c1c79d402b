using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>Cron schedules on child workflows and on continue-as-new.</summary>
[Collection(ServerCollection.Name)]
public sealed class CronChainTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class TickWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("tick");
    }

    [Workflow]
    public sealed class CronParentWorkflow
    {
        [WorkflowRun]
        public async Task RunAsync(string childId)
        {
            await Workflow.StartChildWorkflowAsync((TickWorkflow c) => c.RunAsync(), new() { Id = childId, CronSchedule = "@every 1s" });
            await Workflow.WaitConditionAsync(() => false);
        }
    }

    private async Task<List<HistoryEvent>> WaitForCloseAsync(string workflowId, string runId)
    {
        for (var i = 0; i < 100; i++)
        {
            var events = (await fixture.Client.GetWorkflowHandle(workflowId, runId).FetchHistoryAsync()).Events.ToList();
            if (events[^1].EventType is EventType.WorkflowExecutionCompleted or EventType.WorkflowExecutionContinuedAsNew)
            {
                return events;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Run {runId} of {workflowId} never closed.");
    }

    [Fact]
    public async Task CronChild_RunsOnSchedule_AsTheSameChildOfItsParent()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<TickWorkflow>().AddWorkflow<CronParentWorkflow>(), async tq =>
        {
            var childId = "cron-child-" + Guid.NewGuid();
            var parent = await fixture.Client.StartWorkflowAsync((CronParentWorkflow wf) => wf.RunAsync(childId), new("cron-parent-" + Guid.NewGuid(), tq));
            HistoryEvent? childStarted = null;
            while (childStarted is null)
            {
                await Task.Delay(50);
                childStarted = (await parent.FetchHistoryAsync()).Events.FirstOrDefault(e => e.EventType == EventType.ChildWorkflowExecutionStarted);
            }

            var firstRunId = childStarted.ChildWorkflowExecutionStartedEventAttributes.WorkflowExecution.RunId;
            var first = await WaitForCloseAsync(childId, firstRunId);
            var firstStart = first[0].WorkflowExecutionStartedEventAttributes;
            Assert.Equal("@every 1s", firstStart.CronSchedule);
            Assert.True(firstStart.FirstWorkflowTaskBackoff.ToTimeSpan() > TimeSpan.Zero);

            var nextRunId = first[^1].WorkflowExecutionCompletedEventAttributes.NewExecutionRunId;
            Assert.False(string.IsNullOrEmpty(nextRunId));
            var next = (await fixture.Client.GetWorkflowHandle(childId, nextRunId).FetchHistoryAsync()).Events.First().WorkflowExecutionStartedEventAttributes;
            Assert.Equal(ContinueAsNewInitiator.CronSchedule, next.Initiator);
            Assert.Equal(parent.Id, next.ParentWorkflowExecution.WorkflowId);

            // A run of the schedule ending is not the child ending: the parent hears nothing.
            Assert.DoesNotContain((await parent.FetchHistoryAsync()).Events, e => e.EventType == EventType.ChildWorkflowExecutionCompleted);
            await parent.TerminateAsync("done"); // its close policy ends the schedule
        });
    }

    [Fact]
    public async Task ContinueAsNew_WithACronSchedule_StartsTheNextRunOnIt()
    {
        var raw = new RawDriver(fixture.Client);
        var tq = ServerFixture.NewTaskQueue();
        var id = "cron-can-" + Guid.NewGuid();
        var firstRun = (await raw.StartAsync(id, tq)).RunId;
        await raw.CompleteAsync(await raw.PollWorkflowTaskAsync(tq), new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.ContinueAsNewWorkflowExecution,
            ContinueAsNewWorkflowExecutionCommandAttributes = new()
            {
                WorkflowType = new() { Name = "RawWorkflow" },
                TaskQueue = new() { Name = tq },
                CronSchedule = "@every 1s",
            },
        });

        var secondRun = (await fixture.Client.GetWorkflowHandle(id, firstRun).FetchHistoryAsync()).Events.Last().WorkflowExecutionContinuedAsNewEventAttributes.NewExecutionRunId;
        var started = (await fixture.Client.GetWorkflowHandle(id, secondRun).FetchHistoryAsync()).Events.First().WorkflowExecutionStartedEventAttributes;
        Assert.Equal("@every 1s", started.CronSchedule);
        Assert.True(started.FirstWorkflowTaskBackoff.ToTimeSpan() > TimeSpan.Zero);

        // The run completes: the schedule starts the next one.
        await raw.CompleteAsync(await raw.PollWorkflowTaskAsync(tq), RawDriver.CompleteWorkflow());
        var completed = await WaitForCloseAsync(id, secondRun);
        Assert.False(string.IsNullOrEmpty(completed[^1].WorkflowExecutionCompletedEventAttributes.NewExecutionRunId));
        await fixture.Client.GetWorkflowHandle(id).TerminateAsync("stop the schedule");
    }

    [Fact]
    public async Task ContinueAsNew_WithABadCronSchedule_FailsTheTask_NamingIt()
    {
        var raw = new RawDriver(fixture.Client);
        var tq = ServerFixture.NewTaskQueue();
        var id = "cron-can-bad-" + Guid.NewGuid();
        await raw.StartAsync(id, tq);
        var task = await raw.PollWorkflowTaskAsync(tq);
        var error = await Assert.ThrowsAsync<RpcException>(() => raw.CompleteAsync(task, new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.ContinueAsNewWorkflowExecution,
            ContinueAsNewWorkflowExecutionCommandAttributes = new() { WorkflowType = new() { Name = "RawWorkflow" }, CronSchedule = "every tuesday" },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("Invalid CronSchedule", error.Message, StringComparison.Ordinal);
        var failed = (await raw.HistoryAsync(id)).Single(e => e.EventType == EventType.WorkflowTaskFailed).WorkflowTaskFailedEventAttributes;
        Assert.Equal(WorkflowTaskFailedCause.BadContinueAsNewAttributes, failed.Cause);
        await fixture.Client.GetWorkflowHandle(id).TerminateAsync("done");
    }
}
