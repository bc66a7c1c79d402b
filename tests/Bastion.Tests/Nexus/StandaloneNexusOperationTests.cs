using Bastion.Tests.Integration;
using NexusRpc;
using NexusRpc.Handlers;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;

namespace Bastion.Tests.Nexus;

/// <summary>
/// Standalone Nexus operations (issue 19): a client starts an operation outside any workflow, through the same
/// endpoints, allowlist and handler tasks as a workflow's; it is described, polled, listed, counted, canceled and
/// terminated, and never shows among the namespace's workflows.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StandaloneNexusOperationTests(ServerFixture fixture)
{
    [NexusService]
    public interface IEchoService
    {
        [NexusOperation]
        string Echo(string input);
    }

    [NexusServiceHandler(typeof(IEchoService))]
    public sealed class SyncEcho
    {
        [NexusOperationHandler]
        public IOperationHandler<string, string> Echo() => OperationHandler.Sync<string, string>((_, input) => $"echo:{input}");
    }

    /// <summary>Starts async and never completes by itself; records the cancel requests it gets.</summary>
    [NexusServiceHandler(typeof(IEchoService))]
    public sealed class NeverEndingEcho
    {
        private int _cancels;

        public int Cancels => Volatile.Read(ref _cancels);

        [NexusOperationHandler]
        public IOperationHandler<string, string> Echo() => new Handler(this);

        private void CountCancel() => Interlocked.Increment(ref _cancels);

        private sealed class Handler(NeverEndingEcho owner) : IOperationHandler<string, string>
        {
            public Task<OperationStartResult<string>> StartAsync(OperationStartContext context, string input) =>
                Task.FromResult(OperationStartResult.AsyncResult<string>("token-" + input));

            public Task CancelAsync(OperationCancelContext context)
            {
                owner.CountCancel();
                return Task.CompletedTask;
            }
        }
    }

    /// <summary>A handler that waits until its request is canceled, and says why it was and what deadline it was given.</summary>
    [NexusServiceHandler(typeof(IEchoService))]
    public sealed class WaitingEcho
    {
        public TaskCompletionSource<string?> Reason { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<string?> RequestTimeout { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        [NexusOperationHandler]
        public IOperationHandler<string, string> Echo() => OperationHandler.Sync<string, string>(async (ctx, _) =>
        {
            RequestTimeout.TrySetResult(ctx.Headers?.TryGetValue("request-timeout", out var timeout) == true ? timeout : null);
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                Reason.TrySetResult(ctx.CancellationReason);
                throw;
            }

            return "never";
        });
    }

    /// <summary>The handler's request ends with the operation's schedule-to-start timeout, not the longer per-request one.</summary>
    [Fact]
    public async Task HandlersDeadline_IsTheScheduleToStartTimeout_WhenThatEndsFirst()
    {
        var (endpoint, queue) = await NewEndpointAsync(allowed: "default.local");
        var service = new WaitingEcho();
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(queue).AddNexusService(service));
        await worker.ExecuteAsync(async () =>
        {
            // (The SDK's client options have no schedule-to-start timeout: the request is made by hand.)
            var id = "op-" + Guid.NewGuid().ToString("N");
            await fixture.Client.WorkflowService.StartNexusOperationExecutionAsync(new()
            {
                Namespace = "default",
                OperationId = id,
                Endpoint = endpoint,
                Service = "EchoService",
                Operation = "Echo",
                RequestId = Guid.NewGuid().ToString(),
                Input = Temporalio.Converters.DataConverter.Default.PayloadConverter.ToPayload("t"),
                ScheduleToCloseTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
                ScheduleToStartTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),
            });
            var handle = fixture.Client.GetNexusOperationHandle<string>(id);
            var failed = await Assert.ThrowsAsync<NexusOperationFailedException>(() => handle.GetResultAsync());
            Assert.Equal(TimeoutType.ScheduleToStart, Assert.IsType<TimeoutFailureException>(failed.InnerException?.InnerException ?? failed.InnerException).TimeoutType);

            // The handler's deadline was the 2 s left to start, not the 10 s of a request (the handler would then still be
            // waiting when the operation had long timed out, and learn of it only from the worker's shutdown).
            var deadline = await service.RequestTimeout.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(deadline is ['0' or '1' or '2', ..] && deadline.EndsWith("ms", StringComparison.Ordinal) && long.Parse(deadline[..^2], System.Globalization.CultureInfo.InvariantCulture) <= 2000, deadline);
            Assert.Equal("timed out", await service.Reason.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        });
    }

    [Fact]
    public async Task SyncOperation_CompletesWithTheHandlersResult_IsListedAndCounted_ButNotAmongWorkflows()
    {
        var (endpoint, queue) = await NewEndpointAsync(allowed: "default.local");
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(queue).AddNexusService(new SyncEcho()));
        await worker.ExecuteAsync(async () =>
        {
            var id = "op-" + Guid.NewGuid().ToString("N");
            var handle = await fixture.Client.CreateNexusClient<IEchoService>(endpoint).StartNexusOperationAsync<string>(
                svc => svc.Echo("hi"), new(id) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) });
            Assert.Equal("echo:hi", await handle.GetResultAsync());

            var described = await handle.DescribeAsync();
            Assert.Equal((id, NexusOperationExecutionStatus.Completed, endpoint), (described.OperationId, described.Status, described.Endpoint));
            Assert.NotNull(described.CloseTime);

            var listed = new List<NexusOperationExecution>();
            await foreach (var op in fixture.Client.ListNexusOperationsAsync($"Endpoint = '{endpoint}'"))
            {
                listed.Add(op);
            }

            Assert.Equal((id, "Echo", NexusOperationExecutionStatus.Completed), (Assert.Single(listed).OperationId, listed[0].Operation, listed[0].Status));
            Assert.Equal(1, (await fixture.Client.CountNexusOperationsAsync($"Endpoint = '{endpoint}'")).Count);

            // The run that holds the operation is no workflow of the namespace.
            var workflows = await fixture.Client.WorkflowService.ListWorkflowExecutionsAsync(new() { Namespace = "default", PageSize = 1000 });
            Assert.DoesNotContain(workflows.Executions, e => e.Execution.WorkflowId.Contains(id, StringComparison.Ordinal));
            var asWorkflow = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
            {
                Namespace = "default",
                Execution = new() { WorkflowId = "\u001fnexus-operation\u001f" + id },
            }));
            Assert.Equal(RpcException.StatusCode.NotFound, asWorkflow.Code);
        });
    }

    [Fact]
    public async Task SecondStart_OfARunningOperation_IsAlreadyStarted_UnlessItUsesTheExistingOne()
    {
        var (endpoint, queue) = await NewEndpointAsync(allowed: "default.local");
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(queue).AddNexusService(new NeverEndingEcho()));
        await worker.ExecuteAsync(async () =>
        {
            var client = fixture.Client.CreateNexusClient<IEchoService>(endpoint);
            var id = "op-" + Guid.NewGuid().ToString("N");
            var first = await client.StartNexusOperationAsync<string>(svc => svc.Echo("a"), new(id) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) });

            var refused = await Assert.ThrowsAsync<NexusOperationAlreadyStartedException>(() =>
                client.StartNexusOperationAsync<string>(svc => svc.Echo("a"), new(id) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) }));
            Assert.Equal((id, first.RunId), (refused.OperationId, refused.RunId));

            var existing = await client.StartNexusOperationAsync<string>(
                svc => svc.Echo("a"), new(id) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1), IdConflictPolicy = NexusOperationIdConflictPolicy.UseExisting });
            Assert.Equal(first.RunId, existing.RunId);
            await first.TerminateAsync();
        });
    }

    /// <summary>A cancel request made before the handler answered the start waits for the start, then reaches the handler.</summary>
    [Fact]
    public async Task Cancel_ReachesTheHandler_OnceStarted_AndTerminateEndsTheOperation()
    {
        var (endpoint, queue) = await NewEndpointAsync(allowed: "default.local");
        var service = new NeverEndingEcho();
        var handle = await fixture.Client.CreateNexusClient<IEchoService>(endpoint).StartNexusOperationAsync<string>(
            svc => svc.Echo("c"), new("op-" + Guid.NewGuid().ToString("N")) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) });
        await handle.CancelAsync(); // no worker yet: the operation has not started

        Assert.Equal(NexusOperationExecutionStatus.Running, (await handle.DescribeAsync()).Status);
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(queue).AddNexusService(service));
        await worker.ExecuteAsync(async () =>
        {
            await Eventually.HoldsAsync(() => Task.FromResult(service.Cancels == 1));
            await handle.TerminateAsync();
            Assert.Equal(NexusOperationExecutionStatus.Terminated, (await handle.DescribeAsync()).Status);
            var failed = await Assert.ThrowsAsync<NexusOperationFailedException>(() => handle.GetResultAsync());
            Assert.IsType<TerminatedFailureException>(failed.InnerException);
        });
    }

    [Fact]
    public async Task Operations_BelongToTheirNamespace_AndAnUnknownEndpointIsNotFound()
    {
        var (endpoint, _) = await NewEndpointAsync(allowed: "default.local");
        var handle = await fixture.Client.CreateNexusClient<IEchoService>(endpoint).StartNexusOperationAsync<string>(
            svc => svc.Echo("x"), new("op-" + Guid.NewGuid().ToString("N")) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) });

        var other = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(fixture.Server.Address) { Namespace = "other" });
        var notThere = await Assert.ThrowsAsync<RpcException>(() => other.GetNexusOperationHandle(handle.Id).DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, notThere.Code);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.CreateNexusClient<IEchoService>("no-such-endpoint")
            .StartNexusOperationAsync<string>(svc => svc.Echo("x"), new("op-" + Guid.NewGuid().ToString("N")) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(1) }));
        Assert.Equal(RpcException.StatusCode.NotFound, unknown.Code);
        await handle.TerminateAsync();
    }

    private async Task<(string Endpoint, string Queue)> NewEndpointAsync(string allowed)
    {
        var queue = ServerFixture.NewTaskQueue();
        return (await NexusTestEndpoints.CreateAsync(fixture.Client, "default.local", queue, allowed), queue);
    }
}
