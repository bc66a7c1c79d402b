using Google.Protobuf;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>Bad input gets a precise status and a message a user can act on, and nothing is half-written.</summary>
[Collection(ServerCollection.Name)]
public sealed class BadInputTests(ServerFixture fixture)
{
    private RawDriver Raw => new(fixture.Client);

    [Fact]
    public async Task UnknownNamespace_IsNotFound_WithNamespaceNotFoundFailure()
    {
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = "no-such-namespace" });
        var error = await Assert.ThrowsAsync<RpcException>(() => new RawDriver(client, "no-such-namespace").StartAsync("x", "tq"));
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
        Assert.Equal("Namespace no-such-namespace is not found.", error.Message); // Temporal's text: clients match on it
        var detail = Assert.Single(error.GrpcStatus.Value!.Details);
        Assert.Equal("no-such-namespace", detail.Unpack<NamespaceNotFoundFailure>().Namespace);
    }

    [Fact]
    public async Task MalformedTaskToken_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.RespondActivityTaskCompletedAsync(new()
        {
            Namespace = "default",
            TaskToken = ByteString.CopyFromUtf8("not a token"),
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("Task token is malformed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WellFormedTaskTokenNamingNoTask_IsNotFound()
    {
        // A token as Temporal encodes one (namespace id, workflow id, run id, scheduled event id, attempt, activity
        // id): well formed, naming no task here. SDKs turn NOT_FOUND into their activity-not-found errors.
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteString(Guid.NewGuid().ToString());
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(Guid.NewGuid().ToString());
        output.WriteTag(3, WireFormat.WireType.LengthDelimited);
        output.WriteString(Guid.NewGuid().ToString());
        output.WriteTag(4, WireFormat.WireType.Varint);
        output.WriteInt64(5);
        output.WriteTag(5, WireFormat.WireType.Varint);
        output.WriteInt32(1);
        output.WriteTag(6, WireFormat.WireType.LengthDelimited);
        output.WriteString("1");
        output.Flush();

        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.RespondActivityTaskCompletedAsync(new()
        {
            Namespace = "default",
            TaskToken = ByteString.CopyFrom(buffer.ToArray()),
        }));
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
    }

    [Fact]
    public async Task SignalToAClosedWorkflow_IsNotFound_WithTemporalsText()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "closed-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.CompleteWorkflow());
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.SignalWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = id },
            SignalName = "late",
        }));
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
        Assert.Contains("workflow execution already completed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelRequestToAClosedWorkflow_IsAcknowledged_AndChangesNothing()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "cancel-closed-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.CompleteWorkflow());
        var before = await Raw.HistoryAsync(id);

        await Raw.Service.RequestCancelWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = id },
            RequestId = Guid.NewGuid().ToString(),
        });

        var after = await Raw.HistoryAsync(id);
        Assert.Equal(before.Count, after.Count);
        Assert.Equal(EventType.WorkflowExecutionCompleted, after[^1].EventType);
    }

    [Fact]
    public async Task TaskTokenOfAnotherNamespace_IsInvalidArgument_AndTheTaskStaysPending()
    {
        var other = new RawDriver(fixture.Client, "other");
        var tq = ServerFixture.NewTaskQueue();
        var id = "foreign-" + Guid.NewGuid();
        await other.StartAsync(id, tq);
        var task = await other.PollWorkflowTaskAsync(tq);

        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.CompleteAsync(task, RawDriver.CompleteWorkflow()));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("another namespace", error.Message, StringComparison.Ordinal);

        await other.CompleteAsync(task, RawDriver.CompleteWorkflow());
        Assert.Equal(EventType.WorkflowExecutionCompleted, (await other.HistoryAsync(id))[^1].EventType);
    }

    [Fact]
    public async Task CompletingAnActivityTwice_IsNotFoundTheSecondTime()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "twice-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(tq), RawDriver.ScheduleActivity("a1", "Work", tq));
        var activity = await Raw.PollActivityTaskAsync(tq);
        var completion = new Temporalio.Api.WorkflowService.V1.RespondActivityTaskCompletedRequest { Namespace = "default", TaskToken = activity.TaskToken };

        await Raw.Service.RespondActivityTaskCompletedAsync(completion);
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.RespondActivityTaskCompletedAsync(completion));
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
        Assert.Single(await Raw.HistoryAsync(id), e => e.EventType == EventType.ActivityTaskCompleted);
    }

    [Theory]
    [InlineData("child")]
    [InlineData("signal")]
    [InlineData("cancel")]
    public async Task AWorkflowCommand_NamingAHiddenRunsId_FailsTheTask(string kind)
    {
        // Standalone activities and Nexus operations live under ids that begin with U+001F; a workflow may not reach them.
        var tq = ServerFixture.NewTaskQueue();
        var id = "hidden-target-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var task = await Raw.PollWorkflowTaskAsync(tq);
        const string hidden = "\u001fnexus-operation\u001fop-1";
        var command = kind switch
        {
            "child" => new Command
            {
                CommandType = CommandType.StartChildWorkflowExecution,
                StartChildWorkflowExecutionCommandAttributes = new() { WorkflowId = hidden, WorkflowType = new() { Name = "W" }, TaskQueue = new() { Name = tq } },
            },
            "signal" => new Command
            {
                CommandType = CommandType.SignalExternalWorkflowExecution,
                SignalExternalWorkflowExecutionCommandAttributes = new() { Execution = new() { WorkflowId = hidden }, SignalName = "s" },
            },
            _ => new Command
            {
                CommandType = CommandType.RequestCancelExternalWorkflowExecution,
                RequestCancelExternalWorkflowExecutionCommandAttributes = new() { WorkflowId = hidden },
            },
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.CompleteAsync(task, command));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("U+001F", error.Message, StringComparison.Ordinal);
        var history = await Raw.HistoryAsync(id);
        Assert.Equal(EventType.WorkflowTaskFailed, history[^1].EventType);
    }

    [Fact]
    public async Task CommandMissingRequiredField_FailsTheTaskWithACause_AndTheWorkflowStaysHealthy()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "badcommand-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var task = await Raw.PollWorkflowTaskAsync(tq);

        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.CompleteAsync(task, RawDriver.ScheduleActivity("a1", type: null, tq)));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("ActivityType is not set", error.Message, StringComparison.Ordinal);

        var history = await Raw.HistoryAsync(id);
        var failed = history[^1].WorkflowTaskFailedEventAttributes;
        Assert.Equal(WorkflowTaskFailedCause.BadScheduleActivityAttributes, failed.Cause);
        Assert.DoesNotContain(history, e => e.EventType == EventType.ActivityTaskScheduled);

        // The retry is transient, as in Temporal: shown to the worker, written only when it completes.
        var retry = await Raw.PollWorkflowTaskAsync(tq);
        Assert.Equal(2, retry.Attempt);
        Assert.Equal(1, retry.History.Events[0].EventId); // full history on the normal queue
        Assert.Equal(
            [EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted],
            retry.History.Events.TakeLast(2).Select(e => e.EventType));
        Assert.Equal(history.Count, (await Raw.HistoryAsync(id)).Count);
        await Raw.CompleteAsync(retry, RawDriver.CompleteWorkflow());
        var final = await Raw.HistoryAsync(id);
        Assert.Equal(
            [EventType.WorkflowTaskFailed, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted, EventType.WorkflowTaskCompleted, EventType.WorkflowExecutionCompleted],
            final.Skip(history.Count - 1).Select(e => e.EventType));
        Assert.Equal(Enumerable.Range(1, final.Count).Select(i => (long)i), final.Select(e => e.EventId));
    }

    [Fact]
    public async Task PayloadOver2MiB_IsInvalidArgument_AndNothingIsStored()
    {
        var id = "big-" + Guid.NewGuid();
        var input = new Temporalio.Api.Common.V1.Payloads();
        input.Payloads_.Add(new Temporalio.Api.Common.V1.Payload { Data = ByteString.CopyFrom(new byte[(2 * 1024 * 1024) + 1]) });
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.StartAsync(id, "tq", input));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("payload limit", error.Message, StringComparison.Ordinal);

        var notFound = await Assert.ThrowsAsync<RpcException>(() => Raw.HistoryAsync(id));
        Assert.Equal(RpcException.StatusCode.NotFound, notFound.Code);
    }

    [Fact]
    public async Task SignalDuringInFlightTask_IsBufferedAfterTheTasksEvents()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "inflight-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var task = await Raw.PollWorkflowTaskAsync(tq);
        await Raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "ping", RequestId = Guid.NewGuid().ToString() });

        // Closing with an unseen signal pending is refused: the worker must handle it first.
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.CompleteAsync(task, RawDriver.CompleteWorkflow()));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        var history = await Raw.HistoryAsync(id);
        Assert.Equal(
            [EventType.WorkflowExecutionStarted, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted, EventType.WorkflowTaskFailed, EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskScheduled],
            history.Select(e => e.EventType));
        Assert.Equal(WorkflowTaskFailedCause.UnhandledCommand, history[3].WorkflowTaskFailedEventAttributes.Cause);

        // A second signal while the next task runs lands after that task's completion.
        var next = await Raw.PollWorkflowTaskAsync(tq);
        await Raw.Service.SignalWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id }, SignalName = "pong", RequestId = Guid.NewGuid().ToString() });
        await Raw.CompleteAsync(next);
        history = await Raw.HistoryAsync(id);
        Assert.Equal(
            [EventType.WorkflowTaskStarted, EventType.WorkflowTaskCompleted, EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskScheduled],
            history.Skip(6).Select(e => e.EventType));
        Assert.Equal("pong", history[8].WorkflowExecutionSignaledEventAttributes.SignalName);
        Assert.Equal(history.Count, history[^1].EventId);
    }

    [Fact]
    public async Task RetriedSignal_WithTheSameRequestId_IsAppliedOnce()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "signal-dedupe-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var signal = new Temporalio.Api.WorkflowService.V1.SignalWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = id },
            SignalName = "once",
            RequestId = Guid.NewGuid().ToString(),
        };
        await Raw.Service.SignalWorkflowExecutionAsync(signal);
        await Raw.Service.SignalWorkflowExecutionAsync(signal);
        Assert.Single(await Raw.HistoryAsync(id), e => e.EventType == EventType.WorkflowExecutionSignaled);
    }

    [Fact]
    public async Task NewerApis_RefuseMalformedRequests_NamingTheField()
    {
        var update = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.UpdateWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = "x" },
            Request = new() { Meta = new(), Input = new() { Name = "u" } },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, update.Code);
        Assert.Contains("UpdateId", update.Message, StringComparison.Ordinal);

        var multi = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.ExecuteMultiOperationAsync(new() { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, multi.Code);

        var cron = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = "cron-bad-" + Guid.NewGuid(),
            WorkflowType = new() { Name = "W" },
            TaskQueue = new() { Name = "tq" },
            CronSchedule = "every tuesday",
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, cron.Code);
        Assert.Contains("Invalid CronSchedule", cron.Message, StringComparison.Ordinal);

        var signalWithStart = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.SignalWithStartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = "sws-bad-" + Guid.NewGuid(),
            WorkflowType = new() { Name = "W" },
            TaskQueue = new() { Name = "tq" },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, signalWithStart.Code);
        Assert.Contains("SignalName", signalWithStart.Message, StringComparison.Ordinal);
    }
}
