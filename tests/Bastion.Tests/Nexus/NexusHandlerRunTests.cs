using Bastion.Tests.Integration;
using NexusRpc;
using NexusRpc.Handlers;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Nexus;
using Temporalio.Worker;
using Temporalio.Workflows;
using Link = Temporalio.Api.Common.V1.Link;

namespace Bastion.Tests.Nexus;

/// <summary>
/// What a Nexus handler's own calls leave in the handler namespace: a second operation that meets the running
/// handler workflow under USE_EXISTING attaches to it (both callers hear of its close), a handler's signal carries
/// its inbound links, and describe says whether a handler's run was asked to cancel.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class NexusHandlerRunTests(ServerFixture fixture)
{
    [NexusService]
    public interface ISharedRunService
    {
        [NexusOperation]
        string Join(string name);
    }

    /// <summary>Every call starts (or, with the id taken, joins) the one <see cref="SharedWorkflow"/> of its id.</summary>
    [NexusServiceHandler(typeof(ISharedRunService))]
    public sealed class SharedRunService(string workflowId)
    {
        [NexusOperationHandler]
        public IOperationHandler<string, string> Join() => WorkflowRunOperationHandler.FromHandleFactory(
            (WorkflowRunOperationContext context, string name) =>
                context.StartWorkflowAsync((SharedWorkflow wf) => wf.RunAsync(name), new() { Id = workflowId, IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting }));
    }

    [Workflow]
    public sealed class SharedWorkflow
    {
        private bool _released;

        [WorkflowRun]
        public async Task<string> RunAsync(string name)
        {
            await Workflow.WaitConditionAsync(() => _released);
            return $"Hello, {name}";
        }

        [WorkflowSignal]
        public Task ReleaseAsync()
        {
            _released = true;
            return Task.CompletedTask;
        }
    }

    [Workflow]
    public sealed class TwoOperationsCallerWorkflow
    {
        [WorkflowRun]
        public async Task<string[]> RunAsync(string endpoint, string handlerWorkflowId)
        {
            var client = Workflow.CreateNexusWorkflowClient<ISharedRunService>(endpoint);
            var first = await client.StartNexusOperationAsync(svc => svc.Join("first"), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(60) });
            var second = await client.StartNexusOperationAsync(svc => svc.Join("second"), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(60) });
            await Workflow.GetExternalWorkflowHandle<SharedWorkflow>(handlerWorkflowId).SignalAsync(wf => wf.ReleaseAsync());
            return [await first.GetResultAsync(), await second.GetResultAsync()];
        }
    }

    /// <summary>
    /// The second start meets the running workflow under USE_EXISTING: its completion callback is attached (a
    /// WorkflowExecutionOptionsUpdated event), so both operations complete with the one run's result.
    /// </summary>
    [Fact]
    public async Task SecondOperation_UsingTheExistingRun_AttachesItsCallback_AndBothCallersGetTheResult()
    {
        var handlerQueue = ServerFixture.NewTaskQueue();
        var handlerWorkflowId = "shared-" + Guid.NewGuid().ToString("N");
        var endpoint = await CreateEndpointAsync(handlerQueue);
        using var handler = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(handlerQueue).AddNexusService(new SharedRunService(handlerWorkflowId)).AddWorkflow<SharedWorkflow>());
        await handler.ExecuteAsync(() => fixture.WithWorkerAsync(o => o.AddWorkflow<TwoOperationsCallerWorkflow>(), async callerQueue =>
        {
            var run = await fixture.Client.StartWorkflowAsync(
                (TwoOperationsCallerWorkflow wf) => wf.RunAsync(endpoint, handlerWorkflowId), new("caller-" + Guid.NewGuid().ToString("N"), callerQueue));
            Assert.Equal(["Hello, first", "Hello, first"], await run.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));

            var handlerEvents = (await fixture.Client.GetWorkflowHandle(handlerWorkflowId).FetchHistoryAsync()).Events;
            var started = handlerEvents.Single(e => e.WorkflowExecutionStartedEventAttributes is not null);
            Assert.Single(started.WorkflowExecutionStartedEventAttributes.CompletionCallbacks);
            var attached = Assert.Single(handlerEvents, e => e.WorkflowExecutionOptionsUpdatedEventAttributes is not null).WorkflowExecutionOptionsUpdatedEventAttributes;
            Assert.Single(attached.AttachedCompletionCallbacks);
            Assert.NotEmpty(attached.AttachedRequestId);
        }));
    }

    /// <summary>A retried start that already attached (same request id) is answered again without attaching twice.</summary>
    [Fact]
    public async Task RetriedAttachingStart_AttachesOnce()
    {
        var workflowId = "attach-" + Guid.NewGuid().ToString("N");
        var service = fixture.Client.WorkflowService;
        StartWorkflowExecutionRequest Start(string requestId) => new()
        {
            Namespace = "default",
            WorkflowId = workflowId,
            WorkflowType = new() { Name = "Anything" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = requestId,
            WorkflowIdConflictPolicy = WorkflowIdConflictPolicy.UseExisting,
            OnConflictOptions = new OnConflictOptions { AttachRequestId = true, AttachCompletionCallbacks = true, AttachLinks = true },
            Links = { WorkflowLink("caller-" + requestId) },
        };
        var first = await service.StartWorkflowExecutionAsync(Start("one"));
        var second = await service.StartWorkflowExecutionAsync(Start("two"));
        var retried = await service.StartWorkflowExecutionAsync(Start("two"));

        Assert.True(first.Started);
        Assert.Equal((first.RunId, false), (second.RunId, second.Started));
        Assert.Equal((first.RunId, false), (retried.RunId, retried.Started));
        var events = (await fixture.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync()).Events;
        Assert.Equal("caller-one", Assert.Single(events.First().Links).WorkflowEvent.WorkflowId);
        var updated = Assert.Single(events, e => e.EventType == EventType.WorkflowExecutionOptionsUpdated);
        Assert.Equal("two", updated.WorkflowExecutionOptionsUpdatedEventAttributes.AttachedRequestId);
        Assert.Equal("caller-two", Assert.Single(updated.Links).WorkflowEvent.WorkflowId);
    }

    /// <summary>A signal's links (a Nexus handler forwards its inbound links) are recorded on its Signaled event.</summary>
    [Fact]
    public async Task Signal_RecordsItsLinks_OnTheSignaledEvent()
    {
        var workflowId = "signaled-" + Guid.NewGuid().ToString("N");
        var service = fixture.Client.WorkflowService;
        await service.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = workflowId,
            WorkflowType = new() { Name = "Anything" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
        });
        await service.SignalWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = workflowId },
            SignalName = "go",
            RequestId = Guid.NewGuid().ToString(),
            Links = { WorkflowLink("the-caller") },
        });

        var events = (await fixture.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync()).Events;
        var link = Assert.Single(Assert.Single(events, e => e.EventType == EventType.WorkflowExecutionSignaled).Links).WorkflowEvent;
        Assert.Equal(("the-caller", EventType.NexusOperationScheduled), (link.WorkflowId, link.EventRef.EventType));
    }

    /// <summary>Describe's extended info says whether the run was asked to cancel.</summary>
    [Fact]
    public async Task Describe_ShowsWhetherTheRunWasAskedToCancel()
    {
        var workflowId = "cancel-" + Guid.NewGuid().ToString("N");
        await fixture.Client.WorkflowService.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = workflowId,
            WorkflowType = new() { Name = "Anything" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
        });
        async Task<bool> CancelRequestedAsync() => (await fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            Execution = new() { WorkflowId = workflowId },
        })).WorkflowExtendedInfo.CancelRequested;

        Assert.False(await CancelRequestedAsync());
        await fixture.Client.GetWorkflowHandle(workflowId).CancelAsync();
        Assert.True(await CancelRequestedAsync());
    }

    private static Link WorkflowLink(string workflowId) => new()
    {
        WorkflowEvent = new()
        {
            Namespace = "default",
            WorkflowId = workflowId,
            RunId = Guid.NewGuid().ToString(),
            EventRef = new() { EventId = 1, EventType = EventType.NexusOperationScheduled },
        },
    };

    private Task<string> CreateEndpointAsync(string taskQueue) => NexusTestEndpoints.CreateAsync(fixture.Client, "default.local", taskQueue, allowed: "default.local");
}
