using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Every call that names a run (execution.run_id) acts on that run, never on the latest run of the workflow id:
/// results, history (forward, close-event long poll, reverse), describe, query, signal, cancel, terminate.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RunBindingTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class EchoWorkflow
    {
        private bool _done;

        [WorkflowRun]
        public async Task<string> RunAsync(string value, bool wait)
        {
            await Workflow.WaitConditionAsync(() => _done || !wait);
            return value;
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _done = true;
            return Task.CompletedTask;
        }

        [WorkflowQuery]
        public string Value => Workflow.Info.RunId;
    }

    [Workflow]
    public sealed class ContinueOnceWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(bool first) =>
            first ? throw Workflow.CreateContinueAsNewException((ContinueOnceWorkflow wf) => wf.RunAsync(false)) : Task.FromResult("second run");
    }

    [Fact]
    public async Task EveryCallNamingARun_ActsOnThatRun_AfterTheIdIsReused()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<EchoWorkflow>(), async tq =>
        {
            var id = "bound-" + Guid.NewGuid();
            var first = await fixture.Client.StartWorkflowAsync((EchoWorkflow wf) => wf.RunAsync("first", false), new(id, tq));
            Assert.Equal("first", await first.GetResultAsync());
            var second = await fixture.Client.StartWorkflowAsync((EchoWorkflow wf) => wf.RunAsync("second", true), new(id, tq));
            var firstRun = first.ResultRunId!;
            var bound = fixture.Client.GetWorkflowHandle<EchoWorkflow>(id, firstRun) with { ResultRunId = firstRun };

            // The result, describe and query of the first run, while the second runs.
            Assert.Equal("first", await bound.GetResultAsync<string>());
            var described = await bound.DescribeAsync();
            Assert.Equal(firstRun, described.RunId);
            Assert.Equal(WorkflowExecutionStatus.Completed, described.Status);
            Assert.Equal(firstRun, await bound.QueryAsync(wf => wf.Value));

            // History: forward, the close event (a long poll that must not wait for the running second run), reverse.
            var raw = new RawDriver(fixture.Client);
            var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = id, RunId = firstRun };
            var close = await raw.Service.GetWorkflowExecutionHistoryAsync(new GetWorkflowExecutionHistoryRequest
            {
                Namespace = raw.Namespace,
                Execution = execution,
                WaitNewEvent = true,
                HistoryEventFilterType = HistoryEventFilterType.CloseEvent,
            });
            Assert.Equal(EventType.WorkflowExecutionCompleted, Assert.Single(close.History.Events).EventType);
            var reverse = await raw.Service.GetWorkflowExecutionHistoryReverseAsync(new GetWorkflowExecutionHistoryReverseRequest
            {
                Namespace = raw.Namespace,
                Execution = execution,
            });
            Assert.Equal(EventType.WorkflowExecutionCompleted, reverse.History.Events[0].EventType);
            Assert.Equal(EventType.WorkflowExecutionStarted, reverse.History.Events[^1].EventType);
            var forward = await bound.FetchHistoryAsync();
            Assert.Equal(reverse.History.Events.Count, forward.Events.Count);

            // Signal and terminate of the closed first run: NOT_FOUND; a cancel request is acknowledged and changes
            // nothing (Temporal's rule); the second run is untouched by all three.
            await Assert.ThrowsAsync<RpcException>(() => bound.SignalAsync(wf => wf.FinishAsync()));
            await bound.CancelAsync();
            await Assert.ThrowsAsync<RpcException>(() => bound.TerminateAsync("not this one"));
            var secondHistory = await second.FetchHistoryAsync();
            Assert.DoesNotContain(secondHistory.Events, e => e.EventType is EventType.WorkflowExecutionSignaled
                or EventType.WorkflowExecutionCancelRequested or EventType.WorkflowExecutionTerminated);

            await second.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal("second", await second.GetResultAsync());
            Assert.Equal("first", await bound.GetResultAsync<string>());
        });
    }

    [Fact]
    public async Task ResultOfARunThatContinuedAsNew_WithoutFollowingRuns_IsTheContinuedAsNewClose()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<ContinueOnceWorkflow>(), async tq =>
        {
            var id = "bound-can-" + Guid.NewGuid();
            var handle = await fixture.Client.StartWorkflowAsync((ContinueOnceWorkflow wf) => wf.RunAsync(true), new(id, tq));
            Assert.Equal("second run", await handle.GetResultAsync());

            var continued = await Assert.ThrowsAsync<WorkflowContinuedAsNewException>(() => handle.GetResultAsync(followRuns: false));
            Assert.NotEqual(handle.ResultRunId, continued.NewRunId);
            var bound = fixture.Client.GetWorkflowHandle(id) with { ResultRunId = handle.ResultRunId };
            var again = await Assert.ThrowsAsync<WorkflowContinuedAsNewException>(() => bound.GetResultAsync<string>(followRuns: false));
            Assert.Equal(continued.NewRunId, again.NewRunId);

            var next = fixture.Client.GetWorkflowHandle(id) with { ResultRunId = continued.NewRunId };
            Assert.Equal("second run", await next.GetResultAsync<string>(followRuns: false));
            Assert.Equal(continued.NewRunId, (await fixture.Client.GetWorkflowHandle(id, continued.NewRunId).DescribeAsync()).RunId);
        });
    }
}
