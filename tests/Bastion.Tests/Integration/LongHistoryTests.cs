using Temporalio.Api.WorkflowService.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>Histories longer than one page reach the worker in pages, as Temporal sends them.</summary>
[Collection(ServerCollection.Name)]
public sealed class LongHistoryTests(ServerFixture fixture)
{
    private const int Signals = 400;

    [Workflow]
    public sealed class CountingWorkflow
    {
        private int _count;

        [WorkflowRun]
        public async Task<int> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _count >= Signals);
            return _count;
        }

        [WorkflowSignal]
        public Task TickAsync()
        {
            _count++;
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task WorkerWithoutACache_ReadsEveryPageOfALongHistory()
    {
        // No cache: every workflow task brings the whole history, hundreds of events, in pages.
        await fixture.WithWorkerAsync(o => o.AddWorkflow<CountingWorkflow>(), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CountingWorkflow wf) => wf.RunAsync(), new("long-" + Guid.NewGuid(), tq));
            for (var i = 0; i < Signals; i++)
            {
                await handle.SignalAsync(wf => wf.TickAsync());
            }

            Assert.Equal(Signals, await handle.GetResultAsync());
        }, maxCachedWorkflows: 0);
    }

    [Fact]
    public async Task TransientTaskOfALongHistory_EndsItsLastPageWithTheTasksEvents()
    {
        var raw = new RawDriver(fixture.Client);
        var tq = ServerFixture.NewTaskQueue();
        var id = "long-raw-" + Guid.NewGuid();
        await raw.StartAsync(id, tq);
        await raw.CompleteAsync(await raw.PollWorkflowTaskAsync(tq));
        for (var i = 0; i < 300; i++)
        {
            await raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "s", RequestId = Guid.NewGuid().ToString() });
        }

        // Fail the task once: the retry is transient (its events are not stored).
        var first = await raw.PollWorkflowTaskAsync(tq);
        await raw.Service.RespondWorkflowTaskFailedAsync(new() { Namespace = "default", TaskToken = first.TaskToken, Cause = Temporalio.Api.Enums.V1.WorkflowTaskFailedCause.WorkflowWorkerUnhandledFailure });
        var retry = await raw.PollWorkflowTaskAsync(tq);
        Assert.Equal(2, retry.Attempt);
        Assert.Equal(256, retry.History.Events.Count);
        Assert.False(retry.NextPageToken.IsEmpty);

        var events = retry.History.Events.ToList();
        var token = retry.NextPageToken;
        while (!token.IsEmpty)
        {
            var page = await raw.Service.GetWorkflowExecutionHistoryAsync(new GetWorkflowExecutionHistoryRequest
            {
                Namespace = "default",
                Execution = new() { WorkflowId = id, RunId = retry.WorkflowExecution.RunId },
                NextPageToken = token,
                MaximumPageSize = 100,
            });
            events.AddRange(page.History.Events);
            token = page.NextPageToken;
        }

        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.EventId));
        Assert.Equal(retry.StartedEventId, events[^1].EventId);
        Assert.Equal(Temporalio.Api.Enums.V1.EventType.WorkflowTaskStarted, events[^1].EventType);
        Assert.Equal(2, events[^2].WorkflowTaskScheduledEventAttributes.Attempt);
        await raw.CompleteAsync(retry, RawDriver.CompleteWorkflow());
    }
}
