using Bastion.Server;
using Bastion.Tests.Integration;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Engine;

/// <summary>Temporal's limits, set low through dynamic config, with Temporal's causes and reasons.</summary>
public sealed class LimitsTests : IAsyncLifetime
{
    private BastionServer _server = null!;
    private RawDriver _raw = null!;

    public async Task InitializeAsync()
    {
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.DynamicConfig["limit.numPendingActivities.error"] = "2";
        options.DynamicConfig["limit.historyCount.error"] = "12";
        options.DynamicConfig["history.maxInFlightUpdates"] = "2";
        options.DynamicConfig["limit.numPendingChildExecutions.error"] = "1";
        options.DynamicConfig["limit.numPendingSignals.error"] = "1";
        options.DynamicConfig["limit.numPendingCancelRequests.error"] = "1";
        options.DynamicConfig["limit.historySize.error"] = "20000";
        options.DynamicConfig["limit.historyCount.suggestContinueAsNew"] = "6";
        _server = await BastionServer.StartAsync(options);
        _raw = new RawDriver(await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" }));
    }

    [Fact]
    public async Task TooManyPendingActivities_FailsTheWorkflowTask_WithTemporalsCause()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "limit-activities-" + Guid.NewGuid();
        await _raw.StartAsync(id, tq);
        var task = await _raw.PollWorkflowTaskAsync(tq);
        var error = await Assert.ThrowsAsync<RpcException>(() => _raw.CompleteAsync(
            task,
            RawDriver.ScheduleActivity("a", "Work", tq),
            RawDriver.ScheduleActivity("b", "Work", tq),
            RawDriver.ScheduleActivity("c", "Work", tq)));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        var failed = (await _raw.HistoryAsync(id)).Single(e => e.EventType == EventType.WorkflowTaskFailed);
        Assert.Equal(WorkflowTaskFailedCause.PendingActivitiesLimitExceeded, failed.WorkflowTaskFailedEventAttributes.Cause);

        // Two are within the limit.
        await _raw.CompleteAsync(await _raw.PollWorkflowTaskAsync(tq), RawDriver.ScheduleActivity("a", "Work", tq), RawDriver.ScheduleActivity("b", "Work", tq));
    }

    [Fact]
    public async Task HistoryOverTheCountLimit_TerminatesTheWorkflow_SayingWhy()
    {
        var id = "limit-history-" + Guid.NewGuid();
        await _raw.StartAsync(id, ServerFixture.NewTaskQueue());
        for (var i = 0; i < 20; i++)
        {
            try
            {
                await _raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "s", RequestId = Guid.NewGuid().ToString() });
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                break; // terminated: no more signals accepted
            }
        }

        var history = await _raw.HistoryAsync(id);
        var terminated = history[^1].WorkflowExecutionTerminatedEventAttributes;
        Assert.NotNull(terminated);
        Assert.Contains("history count exceeds limit", terminated.Reason, StringComparison.Ordinal);
        Assert.InRange(history.Count, 12, 13);
    }

    private static Command StartChild(string id) => new()
    {
        CommandType = CommandType.StartChildWorkflowExecution,
        StartChildWorkflowExecutionCommandAttributes = new() { WorkflowId = id, WorkflowType = new() { Name = "RawWorkflow" }, TaskQueue = new() { Name = "nowhere" } },
    };

    private static Command SignalExternal(string id) => new()
    {
        CommandType = CommandType.SignalExternalWorkflowExecution,
        SignalExternalWorkflowExecutionCommandAttributes = new() { Execution = new() { WorkflowId = id }, SignalName = "s" },
    };

    private static Command CancelExternal(string id) => new()
    {
        CommandType = CommandType.RequestCancelExternalWorkflowExecution,
        RequestCancelExternalWorkflowExecutionCommandAttributes = new() { WorkflowId = id },
    };

    public static TheoryData<string, WorkflowTaskFailedCause> PendingLimits => new()
    {
        { "children", WorkflowTaskFailedCause.PendingChildWorkflowsLimitExceeded },
        { "signals", WorkflowTaskFailedCause.PendingSignalsLimitExceeded },
        { "cancels", WorkflowTaskFailedCause.PendingRequestCancelLimitExceeded },
    };

    [Theory]
    [MemberData(nameof(PendingLimits))]
    public async Task TooManyPendingChildrenSignalsOrCancelRequests_FailTheTask_WithTemporalsCause(string kind, WorkflowTaskFailedCause cause)
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = $"limit-{kind}-" + Guid.NewGuid();
        await _raw.StartAsync(id, tq);
        Func<string, Command> command = kind switch { "children" => StartChild, "signals" => SignalExternal, _ => CancelExternal };
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _raw.CompleteAsync(await _raw.PollWorkflowTaskAsync(tq), command(id + "-a"), command(id + "-b")));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        var failed = (await _raw.HistoryAsync(id)).Single(e => e.EventType == EventType.WorkflowTaskFailed);
        Assert.Equal(cause, failed.WorkflowTaskFailedEventAttributes.Cause);
        await _raw.Service.TerminateWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id } });
    }

    [Fact]
    public async Task HistoryOverTheSizeLimit_TerminatesTheWorkflow_SayingWhy()
    {
        var id = "limit-size-" + Guid.NewGuid();
        await _raw.StartAsync(id, ServerFixture.NewTaskQueue());
        var input = new Temporalio.Api.Common.V1.Payloads { Payloads_ = { new Temporalio.Api.Common.V1.Payload { Data = Google.Protobuf.ByteString.CopyFrom(new byte[6000]) } } };
        for (var i = 0; i < 10; i++)
        {
            try
            {
                await _raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "big", Input = input, RequestId = Guid.NewGuid().ToString() });
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                break;
            }
        }

        var terminated = (await _raw.HistoryAsync(id))[^1].WorkflowExecutionTerminatedEventAttributes;
        Assert.NotNull(terminated);
        Assert.Contains("history size exceeds limit", terminated.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdatesBeyondTheInFlightLimit_AreResourceExhausted()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "limit-updates-" + Guid.NewGuid();
        await _raw.StartAsync(id, tq);
        await _raw.CompleteAsync(await _raw.PollWorkflowTaskAsync(tq));

        // Nobody answers the workflow tasks that carry them: each call ends at its deadline with the update admitted.
        Task<Temporalio.Api.WorkflowService.V1.UpdateWorkflowExecutionResponse> Update(string updateId) => _raw.Service.UpdateWorkflowExecutionAsync(
            new()
            {
                Namespace = "default",
                WorkflowExecution = new() { WorkflowId = id },
                WaitPolicy = new() { LifecycleStage = UpdateWorkflowExecutionLifecycleStage.Accepted },
                Request = new() { Meta = new() { UpdateId = updateId }, Input = new() { Name = "add" } },
            },
            new RpcOptions { Timeout = TimeSpan.FromSeconds(2) });

        var admitted = await Task.WhenAll(Update("u1"), Update("u2"));
        Assert.All(admitted, r => Assert.Equal(UpdateWorkflowExecutionLifecycleStage.Admitted, r.Stage));
        var error = await Assert.ThrowsAsync<RpcException>(() => Update("u3"));
        Assert.Equal(RpcException.StatusCode.ResourceExhausted, error.Code);
        Assert.Equal("limit on number of concurrent in-flight updates has been reached (2)", error.Message);
        var detail = error.GrpcStatus.Value!.Details.Single().Unpack<Temporalio.Api.ErrorDetails.V1.ResourceExhaustedFailure>();
        Assert.Equal(ResourceExhaustedCause.ConcurrentLimit, detail.Cause);

        // The same update id again is not a new update.
        Assert.Equal(UpdateWorkflowExecutionLifecycleStage.Admitted, (await Update("u1")).Stage);
    }

    [Fact]
    public async Task WorkflowTaskStartedPastTheSuggestionThreshold_SuggestsContinueAsNew()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "limit-suggest-" + Guid.NewGuid();
        await _raw.StartAsync(id, tq);
        var first = await _raw.PollWorkflowTaskAsync(tq);
        Assert.False(first.History.Events[^1].WorkflowTaskStartedEventAttributes.SuggestContinueAsNew);
        await _raw.CompleteAsync(first);
        for (var i = 0; i < 2; i++)
        {
            await _raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "s", RequestId = Guid.NewGuid().ToString() });
        }

        // Its started event is event 8, past limit.historyCount.suggestContinueAsNew (6); history says so too.
        var second = await _raw.PollWorkflowTaskAsync(tq);
        var started = second.History.Events[^1].WorkflowTaskStartedEventAttributes;
        Assert.True(started.SuggestContinueAsNew);
        Assert.Equal(SuggestContinueAsNewReason.TooManyHistoryEvents, Assert.Single(started.SuggestContinueAsNewReasons));
        await _raw.CompleteAsync(second, RawDriver.CompleteWorkflow());
        var recorded = (await _raw.HistoryAsync(id)).Last(e => e.EventType == EventType.WorkflowTaskStarted);
        Assert.True(recorded.WorkflowTaskStartedEventAttributes.SuggestContinueAsNew);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();
}
