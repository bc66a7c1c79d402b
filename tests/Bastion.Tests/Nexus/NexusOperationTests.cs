using Bastion.Tests.Integration;
using NexusRpc;
using NexusRpc.Handlers;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Nexus;
using Temporalio.Worker;
using Temporalio.Workflows;
using Cloud = Temporalio.Api.Cloud.CloudService.V1;

namespace Bastion.Tests.Nexus;

/// <summary>
/// Nexus operations between namespaces with the official SDK (issue 19): a workflow in <c>default</c> calls a service
/// whose handler worker polls a task queue of <c>other</c>, through an endpoint that allows <c>default</c> to call.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class NexusOperationTests(ServerFixture fixture)
{
    [NexusService]
    public interface IGreetingService
    {
        [NexusOperation]
        string Greet(string name);
    }

    [NexusServiceHandler(typeof(IGreetingService))]
    public sealed class GreetingService(Func<string, string> greet)
    {
        [NexusOperationHandler]
        public IOperationHandler<string, string> Greet() => OperationHandler.Sync<string, string>((_, name) => greet(name));
    }

    [NexusService]
    public interface IRunService
    {
        [NexusOperation]
        string Run(string name);
    }

    /// <summary>An async operation: each call starts a <see cref="HandlerWorkflow"/> in the handler's namespace.</summary>
    [NexusServiceHandler(typeof(IRunService))]
    public sealed class RunService
    {
        [NexusOperationHandler]
        public IOperationHandler<string, string> Run() => WorkflowRunOperationHandler.FromHandleFactory(
            (WorkflowRunOperationContext context, string name) =>
                context.StartWorkflowAsync((HandlerWorkflow wf) => wf.RunAsync(name), new() { Id = "handler-" + Guid.NewGuid().ToString("N") }));
    }

    [Workflow]
    public sealed class HandlerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string name)
        {
            if (name == "wait")
            {
                try
                {
                    await Workflow.WaitConditionAsync(() => false); // until canceled
                }
                catch (OperationCanceledException)
                {
                    // A second of clean-up before the run ends canceled: the handler's answer to the cancel request
                    // reaches the caller first, so its CancelRequestCompleted is recorded (a later one is dropped).
                    await Workflow.DelayAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
                    throw;
                }
            }

            return name == "fail" ? throw new ApplicationFailureException("the handler's workflow gave up", nonRetryable: true) : $"Hello from workflow, {name}";
        }
    }

    [Workflow]
    public sealed class StartToCloseCallerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string endpoint) =>
            await Workflow.CreateNexusWorkflowClient<IRunService>(endpoint).ExecuteNexusOperationAsync(
                svc => svc.Run("wait"), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(60), StartToCloseTimeout = TimeSpan.FromSeconds(2) });
    }

    [Workflow]
    public sealed class CancelingCallerWorkflow
    {
        [WorkflowRun]
        public async Task RunAsync(string endpoint)
        {
            using var cancel = new CancellationTokenSource();
            var operation = await Workflow.CreateNexusWorkflowClient<IRunService>(endpoint).StartNexusOperationAsync(
                svc => svc.Run("wait"), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(60), CancellationToken = cancel.Token });
#pragma warning disable CA1849, VSTHRD103 // CancelAsync is not deterministic in a workflow.
            cancel.Cancel();
#pragma warning restore CA1849, VSTHRD103
            await operation.GetResultAsync();
        }
    }

    [Workflow]
    public sealed class AsyncCallerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string endpoint, string name) =>
            await Workflow.CreateNexusWorkflowClient<IRunService>(endpoint).ExecuteNexusOperationAsync(
                svc => svc.Run(name), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(60) });
    }

    [Workflow]
    public sealed class ShortCallerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string endpoint) =>
            await Workflow.CreateNexusWorkflowClient<IGreetingService>(endpoint).ExecuteNexusOperationAsync(
                svc => svc.Greet("nobody"), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(2) });
    }

    [Workflow]
    public sealed class CallerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string endpoint, string name) =>
            await Workflow.CreateNexusWorkflowClient<IGreetingService>(endpoint).ExecuteNexusOperationAsync(
                svc => svc.Greet(name), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(60) });
    }

    [Fact]
    public async Task SyncOperation_FromAnotherNamespace_ReturnsTheHandlersResult_AndHistoryRecordsIt()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        using var handler = new TemporalWorker(await OtherClientAsync(), new TemporalWorkerOptions(handlerQueue).AddNexusService(new GreetingService(name => $"Hello, {name}")));
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<CallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((CallerWorkflow wf) => wf.RunAsync(endpoint, "Nexus"), new(NewId(), callerQueue));
            Assert.Equal("Hello, Nexus", await run.GetResultAsync());

            var events = new List<EventType>();
            await foreach (var e in run.FetchHistoryEventsAsync())
            {
                events.Add(e.EventType);
            }

            Assert.Equal(
                [EventType.NexusOperationScheduled, EventType.NexusOperationCompleted],
                events.Where(t => t.ToString().StartsWith("NexusOperation", StringComparison.Ordinal)));
        }));
    }

    [Fact]
    public async Task HandlerFailure_NonRetryable_FailsTheOperation_WithTheHandlersMessage()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        using var handler = new TemporalWorker(await OtherClientAsync(), new TemporalWorkerOptions(handlerQueue).AddNexusService(
            new GreetingService(_ => throw new HandlerException(HandlerErrorType.BadRequest, "names must be polite"))));
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<CallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((CallerWorkflow wf) => wf.RunAsync(endpoint, "rude"), new(NewId(), callerQueue));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync());
            var nexus = Assert.IsType<NexusOperationFailureException>(e.InnerException);
            var cause = Assert.IsType<HandlerException>(nexus.InnerException);
            Assert.Contains("names must be polite", cause.Message, StringComparison.Ordinal);
        }));
    }

    /// <summary>
    /// An async operation backed by a workflow run in the handler's namespace: Started (linked to the handler's run), then
    /// Completed with the run's result when the run's completion callback is delivered.
    /// </summary>
    [Fact]
    public async Task AsyncOperation_BackedByAWorkflowRun_CompletesByCallback_WithLinksBothWays()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        var other = await OtherClientAsync();
        using var handler = new TemporalWorker(other, new TemporalWorkerOptions(handlerQueue).AddNexusService(new RunService()).AddWorkflow<HandlerWorkflow>());
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<AsyncCallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((AsyncCallerWorkflow wf) => wf.RunAsync(endpoint, "async"), new(NewId(), callerQueue));
            Assert.Equal("Hello from workflow, async", await run.GetResultAsync());

            var events = (await run.FetchHistoryAsync()).Events;
            Assert.Equal(
                [EventType.NexusOperationScheduled, EventType.NexusOperationStarted, EventType.NexusOperationCompleted],
                events.Select(e => e.EventType).Where(t => t.ToString().StartsWith("NexusOperation", StringComparison.Ordinal)));
            var link = Assert.Single(events.Single(e => e.EventType == EventType.NexusOperationStarted).Links).WorkflowEvent;
            Assert.Equal(("other", EventType.WorkflowExecutionStarted, 1L), (link.Namespace, link.EventRef.EventType, link.EventRef.EventId));

            // The handler's run was started with the caller's Scheduled event as its inbound link.
            var handlerRun = other.GetWorkflowHandle(link.WorkflowId, link.RunId);
            Assert.Equal("Hello from workflow, async", await handlerRun.GetResultAsync<string>());
        }));
    }

    [Fact]
    public async Task AsyncOperation_WhoseRunFails_FailsTheOperation_WithTheRunsFailure()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        using var handler = new TemporalWorker(await OtherClientAsync(), new TemporalWorkerOptions(handlerQueue).AddNexusService(new RunService()).AddWorkflow<HandlerWorkflow>());
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<AsyncCallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((AsyncCallerWorkflow wf) => wf.RunAsync(endpoint, "fail"), new(NewId(), callerQueue));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync());
            var nexus = Assert.IsType<NexusOperationFailureException>(e.InnerException);
            var cause = Assert.IsType<ApplicationFailureException>(nexus.InnerException);
            Assert.Equal("the handler's workflow gave up", cause.Message);
        }));
    }

    /// <summary>
    /// Cancelling a started async operation: CancelRequested, the handler cancels its run, CancelRequestCompleted, and the
    /// run's Canceled outcome reaches the caller as NexusOperationCanceled.
    /// </summary>
    [Fact]
    public async Task AsyncOperation_CanceledByTheCaller_CancelsTheHandlersRun()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        var other = await OtherClientAsync();
        using var handler = new TemporalWorker(other, new TemporalWorkerOptions(handlerQueue).AddNexusService(new RunService()).AddWorkflow<HandlerWorkflow>());
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<CancelingCallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((CancelingCallerWorkflow wf) => wf.RunAsync(endpoint), new(NewId(), callerQueue));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync());
            var nexus = Assert.IsType<NexusOperationFailureException>(e.InnerException);
            Assert.IsType<CanceledFailureException>(nexus.InnerException);

            var history = (await run.FetchHistoryAsync()).Events;
            var events = history.Select(e => e.EventType).Where(t => t.ToString().StartsWith("NexusOperation", StringComparison.Ordinal)).ToList();
            Assert.Equal(EventType.NexusOperationCanceled, events[^1]);
            Assert.Contains(EventType.NexusOperationCancelRequested, events);
            Assert.Contains(EventType.NexusOperationCancelRequestCompleted, events);

            var started = Assert.Single(history.Single(e => e.EventType == EventType.NexusOperationStarted).Links).WorkflowEvent;
            var handlerRun = await Assert.ThrowsAsync<WorkflowFailedException>(() => other.GetWorkflowHandle(started.WorkflowId).GetResultAsync());
            Assert.IsType<CanceledFailureException>(handlerRun.InnerException);
        }));
    }

    /// <summary>A started async operation that runs past its start-to-close timeout times out (StartToClose).</summary>
    [Fact]
    public async Task AsyncOperation_PastItsStartToCloseTimeout_TimesOut()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        using var handler = new TemporalWorker(await OtherClientAsync(), new TemporalWorkerOptions(handlerQueue).AddNexusService(new RunService()).AddWorkflow<HandlerWorkflow>());
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<StartToCloseCallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((StartToCloseCallerWorkflow wf) => wf.RunAsync(endpoint), new(NewId(), callerQueue));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync());
            var timeout = Assert.IsType<TimeoutFailureException>(Assert.IsType<NexusOperationFailureException>(e.InnerException).InnerException);
            Assert.Equal(TimeoutType.StartToClose, timeout.TimeoutType);
        }));
    }

    /// <summary>A retryable handler error is retried (with back-off) until the handler answers; the caller sees only the result.</summary>
    [Fact]
    public async Task RetryableHandlerError_IsRetried_UntilTheHandlerAnswers()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "default.local");
        var attempts = 0;
        using var handler = new TemporalWorker(await OtherClientAsync(), new TemporalWorkerOptions(handlerQueue).AddNexusService(new GreetingService(name =>
            Interlocked.Increment(ref attempts) == 1 ? throw new HandlerException(HandlerErrorType.Internal, "a passing fault") : $"Hello, {name}")));
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<CallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((CallerWorkflow wf) => wf.RunAsync(endpoint, "again"), new(NewId(), callerQueue));
            Assert.Equal("Hello, again", await run.GetResultAsync());
        }));
        Assert.Equal(2, attempts);
    }

    /// <summary>
    /// No worker polls the target queue: the operation stays pending (describe shows it, backing off after the request
    /// timed out) until its schedule-to-close timeout, then TimedOut.
    /// </summary>
    [Fact]
    public async Task NoHandler_TheOperationIsPendingInDescribe_ThenTimesOut()
    {
        var endpoint = await CreateEndpointAsync(ServerFixture.NewTaskQueue(), allowed: "default.local");
        await fixture.WithWorkerAsync(o => o.AddWorkflow<ShortCallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((ShortCallerWorkflow wf) => wf.RunAsync(endpoint), new(NewId(), callerQueue));
            Assert.True(await Eventually.HoldsAsync(async () => (await DescribeAsync(run)).PendingNexusOperations.Count == 1));
            var pending = Assert.Single((await DescribeAsync(run)).PendingNexusOperations);
            Assert.Equal((endpoint, "GreetingService", "Greet"), (pending.Endpoint, pending.Service, pending.Operation));

            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync());
            var nexus = Assert.IsType<NexusOperationFailureException>(e.InnerException);
            Assert.IsType<TimeoutFailureException>(nexus.InnerException);
            Assert.Contains((await run.FetchHistoryAsync()).Events, ev => ev.EventType == EventType.NexusOperationTimedOut);
            Assert.Empty((await DescribeAsync(run)).PendingNexusOperations);
        });
    }

    /// <summary>
    /// Isolation: a caller namespace not on the endpoint's allowlist gets a non-retryable UNAUTHORIZED handler error that
    /// says why, the handler's worker never sees the call, and the refusal is in the audit log.
    /// </summary>
    [Fact]
    public async Task CallerNotOnTheAllowlist_IsRefused_Audited_AndTheHandlerNeverSeesIt()
    {
        var began = DateTime.UtcNow.AddSeconds(-1);
        var handlerQueue = ServerFixture.NewTaskQueue();
        var endpoint = await CreateEndpointAsync(handlerQueue, allowed: "other.local");
        var handled = 0;
        using var handler = new TemporalWorker(await OtherClientAsync(), new TemporalWorkerOptions(handlerQueue).AddNexusService(
            new GreetingService(name => $"{Interlocked.Increment(ref handled)}: {name}")));
        string runId = string.Empty;
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<CallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync((CallerWorkflow wf) => wf.RunAsync(endpoint, "intruder"), new(NewId(), callerQueue));
            runId = run.ResultRunId!;
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync());
            var nexus = Assert.IsType<NexusOperationFailureException>(e.InnerException);
            var cause = Assert.IsType<HandlerException>(nexus.InnerException);
            Assert.Equal(HandlerErrorType.Unauthorized, cause.ErrorType);
            Assert.Contains($"namespace default is not allowed to call Nexus endpoint {endpoint}", cause.Message, StringComparison.Ordinal);
        }));
        Assert.Equal(0, handled);

        // The fixture's server is shared by other classes running at the same time: read every page since this test began.
        var refusals = new List<Temporalio.Api.Cloud.AuditLog.V1.LogRecord>();
        var request = new Cloud.GetAuditLogsRequest { PageSize = 1000, StartTimeInclusive = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(began) };
        do
        {
            var page = await fixture.Client.Connection.CloudService.GetAuditLogsAsync(request);
            refusals.AddRange(page.Logs.Where(l => l.Operation == Bastion.Security.Audit.NexusRefusalAudit.Operation && l.RawDetails.ToString().Contains(runId, StringComparison.Ordinal)));
            request.PageToken = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(request.PageToken));
        var refusal = Assert.Single(refusals);
        Assert.Equal("PermissionDenied", refusal.Status);
        Assert.Equal(("Namespace", "default.local"), (refusal.Principal.Type, refusal.Principal.Name));
        Assert.Contains(endpoint, refusal.RawDetails.ToString(), StringComparison.Ordinal);
        Assert.Contains(Bastion.Security.Audit.AuditKinds.NexusCallRefused, refusal.RawDetails.ToString(), StringComparison.Ordinal);
    }

    /// <summary>An endpoint targeting <paramref name="taskQueue"/> of <c>other</c>, callable by <paramref name="allowed"/>.</summary>
    private Task<string> CreateEndpointAsync(string taskQueue, string allowed) => NexusTestEndpoints.CreateAsync(fixture.Client, "other.local", taskQueue, allowed);

    private async Task<TemporalClient> OtherClientAsync() =>
        await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(fixture.Server.Address) { Namespace = "other" });

    private async Task<Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionResponse> DescribeAsync(WorkflowHandle run) =>
        await fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            Execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = run.Id, RunId = run.ResultRunId ?? string.Empty },
        });

    private static string NewId() => "nexus-" + Guid.NewGuid().ToString("N");
}
