using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// PauseWorkflowExecution and UnpauseWorkflowExecution (issue 21) on a real server: a paused workflow shows status
/// Paused, records what reaches it but gets no workflow task until it is unpaused, rejects queries and refuses updates.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class WorkflowPauseTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class AwaitsSignal
    {
        private string? _value;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _value != null);
            return _value!;
        }

        [WorkflowSignal]
        public Task NudgeAsync(string value)
        {
            _value = value;
            return Task.CompletedTask;
        }

        [WorkflowQuery]
        public string? Value => _value;

        [WorkflowUpdate]
        public Task<string> SetAsync(string value)
        {
            _value = value;
            return Task.FromResult(value);
        }
    }

    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    private string Ns => fixture.Client.Options.Namespace;

    private Task PauseAsync(string workflowId, string requestId, string reason = "maintenance") =>
        Service.PauseWorkflowExecutionAsync(new() { Namespace = Ns, WorkflowId = workflowId, Identity = "operator-olga", Reason = reason, RequestId = requestId });

    private Task UnpauseAsync(string workflowId) =>
        Service.UnpauseWorkflowExecutionAsync(new() { Namespace = Ns, WorkflowId = workflowId, Identity = "operator-olga", Reason = "done", RequestId = Guid.NewGuid().ToString() });

    private async Task<List<HistoryEvent>> HistoryAsync(string workflowId) =>
        [.. (await Service.GetWorkflowExecutionHistoryAsync(new() { Namespace = Ns, Execution = new() { WorkflowId = workflowId } })).History.Events];

    [Fact]
    public async Task Paused_RecordsASignalButRunsNothing_UntilUnpaused()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<AwaitsSignal>(), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((AwaitsSignal wf) => wf.RunAsync(), new("pause-" + Guid.NewGuid(), tq));
            Assert.True(await Eventually.HoldsAsync(async () => (await HistoryAsync(handle.Id)).Any(e => e.EventType == EventType.WorkflowTaskCompleted)));

            await PauseAsync(handle.Id, "pause-1");
            var described = await Service.DescribeWorkflowExecutionAsync(new() { Namespace = Ns, Execution = new() { WorkflowId = handle.Id } });
            Assert.Equal(WorkflowExecutionStatus.Paused, described.WorkflowExecutionInfo.Status);
            Assert.Equal(("operator-olga", "maintenance"), (described.WorkflowExtendedInfo.PauseInfo.Identity, described.WorkflowExtendedInfo.PauseInfo.Reason));
            Assert.True(await Eventually.HoldsAsync(async () => (await fixture.Client.CountWorkflowsAsync($"WorkflowId = '{handle.Id}' AND ExecutionStatus = 'Paused'")).Count == 1));

            // The same request again is a no-op; another pause is refused.
            await PauseAsync(handle.Id, "pause-1");
            var again = await Assert.ThrowsAsync<RpcException>(() => PauseAsync(handle.Id, "pause-2"));
            Assert.Equal((RpcException.StatusCode.FailedPrecondition, "workflow is already paused."), (again.Code, again.Message));

            // The signal is recorded, and no workflow task is scheduled for it.
            await handle.SignalAsync(wf => wf.NudgeAsync("after the pause"));
            var history = await HistoryAsync(handle.Id);
            Assert.Equal(EventType.WorkflowExecutionSignaled, history[^1].EventType);
            Assert.Equal(EventType.WorkflowExecutionPaused, history[^2].EventType);
            var pending = await Service.DescribeWorkflowExecutionAsync(new() { Namespace = Ns, Execution = new() { WorkflowId = handle.Id } });
            Assert.Null(pending.PendingWorkflowTask);

            // Queries are rejected with the paused status, updates refused (Temporal's answers).
            var query = await Service.QueryWorkflowAsync(new() { Namespace = Ns, Execution = new() { WorkflowId = handle.Id }, Query = new() { QueryType = "Value" } });
            Assert.Equal(WorkflowExecutionStatus.Paused, query.QueryRejected.Status);
            var update = await Assert.ThrowsAsync<RpcException>(() => handle.ExecuteUpdateAsync(wf => wf.SetAsync("x")));
            Assert.Equal((RpcException.StatusCode.FailedPrecondition, "Workflow is paused. Cannot update the workflow."), (update.Code, update.Message));

            await UnpauseAsync(handle.Id);
            Assert.Equal("after the pause", await handle.GetResultAsync());
            var types = (await HistoryAsync(handle.Id)).Select(e => e.EventType).ToList();
            Assert.True(types.IndexOf(EventType.WorkflowExecutionUnpaused) > types.IndexOf(EventType.WorkflowExecutionSignaled));

            var notPaused = await Assert.ThrowsAsync<RpcException>(() => UnpauseAsync(handle.Id));
            Assert.Equal(RpcException.StatusCode.NotFound, notPaused.Code); // closed now: Temporal's "workflow execution already completed"
        });
    }

    [Fact]
    public async Task Pause_FailsAWorkflowTaskNoWorkerTook_AndUnpauseSchedulesANewOne()
    {
        var ids = await BatchOperationTests.StartIdleAsync(Service, Ns, "PausedBeforeTask", 1);
        var id = ids[0];
        await PauseAsync(id, Guid.NewGuid().ToString());
        var unpausedWhileRunning = await Assert.ThrowsAsync<RpcException>(() => Service.UnpauseWorkflowExecutionAsync(new() { Namespace = Ns, WorkflowId = "no-such-" + id }));
        Assert.Equal(RpcException.StatusCode.NotFound, unpausedWhileRunning.Code);

        await UnpauseAsync(id);
        var history = await HistoryAsync(id);
        Assert.Equal(
            [EventType.WorkflowExecutionStarted, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskFailed, EventType.WorkflowExecutionPaused, EventType.WorkflowExecutionUnpaused, EventType.WorkflowTaskScheduled],
            history.Select(e => e.EventType));
        var failed = history[2].WorkflowTaskFailedEventAttributes;
        Assert.Equal((WorkflowTaskFailedCause.WorkflowPauseRequestedBeforeTaskStarted, 2L, "history-service"), (failed.Cause, failed.ScheduledEventId, failed.Identity));

        var notPaused = await Assert.ThrowsAsync<RpcException>(() => UnpauseAsync(id));
        Assert.Equal((RpcException.StatusCode.FailedPrecondition, "workflow is not paused."), (notPaused.Code, notPaused.Message));

        await Service.TerminateWorkflowExecutionAsync(new() { Namespace = Ns, WorkflowExecution = new() { WorkflowId = id }, Reason = "test over" });
        var closed = await Assert.ThrowsAsync<RpcException>(() => PauseAsync(id, Guid.NewGuid().ToString()));
        Assert.Equal(RpcException.StatusCode.NotFound, closed.Code);

        var tooLong = await Assert.ThrowsAsync<RpcException>(() => PauseAsync(id, Guid.NewGuid().ToString(), new string('r', 1001)));
        Assert.Equal((RpcException.StatusCode.InvalidArgument, "reason is too long."), (tooLong.Code, tooLong.Message));
    }
}
