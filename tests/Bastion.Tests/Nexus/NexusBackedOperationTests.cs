using Bastion.Tests.Integration;
using NexusRpc;
using NexusRpc.Handlers;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Nexus;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Nexus;

/// <summary>
/// Async Nexus operations backed by something other than a workflow run, as the SDK's generic Temporal handler makes
/// them: a standalone activity (its end completes the operation; canceling the operation cancels the activity) and a
/// workflow update (its outcome completes the operation; a run that closes first fails it as Temporal does).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class NexusBackedOperationTests(ServerFixture fixture)
{
    [NexusService]
    public interface IBackedService
    {
        [NexusOperation]
        string Echo(string input);

        [NexusOperation]
        int Add(AddInput input);
    }

    public sealed record AddInput(string WorkflowId, int Amount, string UpdateId);

    /// <summary>Echo runs as a standalone activity (id from the input); Add as an update of the counter workflow named in the input.</summary>
    [NexusServiceHandler(typeof(IBackedService))]
    public sealed class BackedService
    {
        [NexusOperationHandler]
        public IOperationHandler<string, string> Echo() => TemporalOperationHandler.FromHandleFactory<string, string>(
            async (context, client, input) => await client.StartActivityAsync<string>(
                input.StartsWith("wait", StringComparison.Ordinal) ? "WaitForCancel" : "Echo",
                [input],
                new() { Id = input, ScheduleToCloseTimeout = TimeSpan.FromMinutes(1), HeartbeatTimeout = TimeSpan.FromSeconds(10) }));

        [NexusOperationHandler]
        public IOperationHandler<AddInput, int> Add() => TemporalOperationHandler.FromHandleFactory<AddInput, int>(
            (context, client, input) => client.StartWorkflowUpdateAsync<CounterWorkflow, int>(
                input.WorkflowId, wf => wf.AddAsync(input.Amount), new(WorkflowUpdateStage.Accepted) { Id = input.UpdateId }));
    }

    public static class Activities
    {
        [Activity("Echo")]
        public static string Echo(string input) => "echo:" + input;

        [Activity("WaitForCancel")]
        public static async Task<string> WaitForCancelAsync(string input)
        {
            var context = ActivityExecutionContext.Current;
            while (true)
            {
                context.Heartbeat();
                await Task.Delay(100, context.CancellationToken);
            }
        }
    }

    [Workflow]
    public sealed class CounterWorkflow
    {
        private int _counter;
        private bool _hold;

        [WorkflowRun]
        public Task RunAsync() => Workflow.WaitConditionAsync(() => false);

        [WorkflowUpdate]
        public async Task<int> AddAsync(int amount)
        {
            await Workflow.WaitConditionAsync(() => !_hold);
            _counter += amount;
            return _counter;
        }

        [WorkflowSignal]
        public Task HoldAsync(bool hold)
        {
            _hold = hold;
            return Task.CompletedTask;
        }
    }

    [Workflow]
    public sealed class EchoCallerWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string endpoint, string input) =>
            Workflow.CreateNexusWorkflowClient<IBackedService>(endpoint).ExecuteNexusOperationAsync(svc => svc.Echo(input));
    }

    [Workflow]
    public sealed class CancelingCallerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string endpoint, string input)
        {
            using var cancel = new CancellationTokenSource();
            var handle = await Workflow.CreateNexusWorkflowClient<IBackedService>(endpoint).StartNexusOperationAsync(svc => svc.Echo(input), new() { CancellationToken = cancel.Token });
            // CancelAsync would leave the workflow's scheduler: cancel synchronously, as the SDK's own tests do.
#pragma warning disable CA1849, VSTHRD103
            cancel.Cancel();
#pragma warning restore CA1849, VSTHRD103
            return await handle.GetResultAsync();
        }
    }

    [Workflow]
    public sealed class AddCallerWorkflow
    {
        [WorkflowRun]
        public Task<int> RunAsync(string endpoint, AddInput input) =>
            Workflow.CreateNexusWorkflowClient<IBackedService>(endpoint).ExecuteNexusOperationAsync(svc => svc.Add(input));
    }

    /// <summary>The handler starts a standalone activity with the operation's callback: the activity's result reaches the caller, and describe shows the callback delivered.</summary>
    [Fact]
    public async Task ActivityBackedOperation_ActivityResultReachesTheCaller()
    {
        var activityId = "echo-" + Guid.NewGuid().ToString("N");
        await RunAsync(async (endpoint, queue) =>
        {
            var caller = await fixture.Client.StartWorkflowAsync((EchoCallerWorkflow wf) => wf.RunAsync(endpoint, activityId), new("caller-" + Guid.NewGuid().ToString("N"), queue));
            Assert.Equal("echo:" + activityId, await caller.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));

            Temporalio.Api.WorkflowService.V1.DescribeActivityExecutionResponse? described = null;
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                described = await fixture.Client.WorkflowService.DescribeActivityExecutionAsync(new() { Namespace = "default", ActivityId = activityId });
                return described.Callbacks.Count == 1 && described.Callbacks[0].Info.State == CallbackState.Succeeded;
            }));
            var callback = described!.Callbacks[0];
            Assert.NotNull(callback.Trigger.ActivityClosed);
            Assert.Equal("temporal://system", callback.Info.Callback.Nexus.Url);
            Assert.Equal(ActivityExecutionStatus.Completed, described.Info.Status);
            Assert.Equal(EventType.NexusOperationScheduled, Assert.Single(described.Info.Links).WorkflowEvent.EventRef.EventType);
        });
    }

    /// <summary>Canceling the operation cancels the activity (the SDK's default cancel); its cancellation reaches the caller as the operation's.</summary>
    [Fact]
    public async Task CancelingAnActivityBackedOperation_CancelsTheActivity()
    {
        var activityId = "wait-" + Guid.NewGuid().ToString("N");
        await RunAsync(async (endpoint, queue) =>
        {
            var caller = await fixture.Client.StartWorkflowAsync((CancelingCallerWorkflow wf) => wf.RunAsync(endpoint, activityId), new("caller-" + Guid.NewGuid().ToString("N"), queue));
            var failed = await Assert.ThrowsAsync<WorkflowFailedException>(() => caller.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.IsType<CanceledFailureException>(Assert.IsType<NexusOperationFailureException>(failed.InnerException).InnerException);
            var described = await fixture.Client.GetActivityHandle(activityId).DescribeAsync();
            Assert.Equal(ActivityExecutionStatus.Canceled, described.Status);
        });
    }

    /// <summary>The handler issues an update with the operation's callback: the update's result reaches the caller; the acceptance records the callback.</summary>
    [Fact]
    public async Task UpdateBackedOperation_UpdateResultReachesTheCaller()
    {
        await RunAsync(async (endpoint, queue) =>
        {
            var counter = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("counter-" + Guid.NewGuid().ToString("N"), queue));

            // Held until accepted: an update accepted and completed in one workflow task may be answered as completed, and
            // the SDK's handler then returns its result at once (a synchronous operation, no callback, no Started event).
            await counter.SignalAsync(wf => wf.HoldAsync(true));
            var caller = await fixture.Client.StartWorkflowAsync(
                (AddCallerWorkflow wf) => wf.RunAsync(endpoint, new AddInput(counter.Id, 5, "add-5")), new("caller-" + Guid.NewGuid().ToString("N"), queue));
            Assert.True(await Eventually.HoldsAsync(async () => (await counter.FetchHistoryAsync()).Events.Any(e => e.WorkflowExecutionUpdateAcceptedEventAttributes is not null)));
            await counter.SignalAsync(wf => wf.HoldAsync(false));
            Assert.Equal(5, await caller.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));

            var accepted = Assert.Single((await counter.FetchHistoryAsync()).Events, e => e.WorkflowExecutionUpdateAcceptedEventAttributes is not null);
            Assert.Equal("temporal://system", Assert.Single(accepted.WorkflowExecutionUpdateAcceptedEventAttributes.AcceptedRequest.CompletionCallbacks).Nexus.Url);
            var started = Assert.Single((await caller.FetchHistoryAsync()).Events, e => e.NexusOperationStartedEventAttributes is not null);
            Assert.NotEmpty(started.NexusOperationStartedEventAttributes.OperationToken);
        });
    }

    /// <summary>An update accepted and then left unfinished by its run's close fails the operation with Temporal's AcceptedUpdateCompletedWorkflow.</summary>
    [Fact]
    public async Task UpdateBackedOperation_RunClosesFirst_FailsTheOperation()
    {
        await RunAsync(async (endpoint, queue) =>
        {
            var counter = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("counter-" + Guid.NewGuid().ToString("N"), queue));
            await counter.SignalAsync(wf => wf.HoldAsync(true));
            var caller = await fixture.Client.StartWorkflowAsync(
                (AddCallerWorkflow wf) => wf.RunAsync(endpoint, new AddInput(counter.Id, 5, "held")), new("caller-" + Guid.NewGuid().ToString("N"), queue));
            Assert.True(await Eventually.HoldsAsync(async () => (await counter.FetchHistoryAsync()).Events.Any(e => e.WorkflowExecutionUpdateAcceptedEventAttributes is not null)));
            await counter.TerminateAsync("closing before the update completes");

            var failed = await Assert.ThrowsAsync<WorkflowFailedException>(() => caller.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            var cause = Assert.IsType<ApplicationFailureException>(Assert.IsType<NexusOperationFailureException>(failed.InnerException).InnerException);
            Assert.Equal("AcceptedUpdateCompletedWorkflow", cause.ErrorType);
        });
    }

    /// <summary>Only the callbacks this server gives handlers are accepted on an activity's start or an update: anything else would make the server call out.</summary>
    [Fact]
    public async Task CallbacksToOtherAddresses_AreInvalidArgument()
    {
        var service = fixture.Client.WorkflowService;
        var callback = new Temporalio.Api.Common.V1.Callback { Nexus = new() { Url = "http://example.com/callback" } };
        var start = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => service.StartActivityExecutionAsync(new()
        {
            Namespace = "default",
            ActivityId = "act-" + Guid.NewGuid().ToString("N"),
            ActivityType = new() { Name = "Echo" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            StartToCloseTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
            RequestId = Guid.NewGuid().ToString(),
            CompletionCallbacks = { callback },
        }));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.InvalidArgument, start.Code);
        Assert.Contains("CompletionCallbacks", start.Message, StringComparison.Ordinal);

        var update = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => service.UpdateWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = "any-" + Guid.NewGuid().ToString("N") },
            Request = new() { Meta = new() { UpdateId = "u" }, Input = new() { Name = "Add" }, CompletionCallbacks = { callback } },
        }));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.InvalidArgument, update.Code);
    }

    /// <summary>One worker on one queue: the handler service, its activities and the workflows (callers and counter).</summary>
    private async Task RunAsync(Func<string, string, Task> body)
    {
        var queue = ServerFixture.NewTaskQueue();
        var endpoint = await NexusTestEndpoints.CreateAsync(fixture.Client, "default.local", queue, allowed: "default.local");
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(queue)
            .AddNexusService(new BackedService())
            .AddActivity(Activities.Echo)
            .AddActivity(Activities.WaitForCancelAsync)
            .AddWorkflow<CounterWorkflow>()
            .AddWorkflow<EchoCallerWorkflow>()
            .AddWorkflow<CancelingCallerWorkflow>()
            .AddWorkflow<AddCallerWorkflow>());
        await worker.ExecuteAsync(() => body(endpoint, queue));
    }
}
