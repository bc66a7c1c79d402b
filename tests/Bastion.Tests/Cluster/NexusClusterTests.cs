using Bastion.Engine.Cluster;
using Bastion.Server;
using Bastion.Tests.Integration;
using Bastion.Tests.Nexus;
using Bastion.Tests.Storage.Postgres;
using NexusRpc;
using NexusRpc.Handlers;
using Temporalio.Api.Enums.V1;
using Temporalio.Exceptions;
using Temporalio.Nexus;
using Temporalio.Workflows;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Nexus across the nodes of a cluster (three nodes on one PostgreSQL database): a task queue's Nexus tasks are served
/// by one node, and everything else reaches it — the caller's workflow started through node A (its run owned by A),
/// the Nexus handler worker polling node B, the caller's worker polling node C, the queue's Nexus tasks served by C.
/// A sync and an async (workflow-backed, its run owned by B) operation complete; a cancel reaches the handler's run.
/// </summary>
public sealed class NexusClusterTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const int Shards = 8;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-nexus-cluster-" + Guid.NewGuid().ToString("N"));
    private readonly List<BastionServer> _nodes = [];

    [NexusService]
    public interface IClusterService
    {
        [NexusOperation]
        string Greet(string name);

        /// <summary>Starts a <see cref="HandlerWorkflow"/> of the id given ("wait-…" ids wait until canceled).</summary>
        [NexusOperation]
        string Run(string workflowId);
    }

    [NexusServiceHandler(typeof(IClusterService))]
    public sealed class ClusterService
    {
        [NexusOperationHandler]
        public IOperationHandler<string, string> Greet() => OperationHandler.Sync<string, string>((_, name) => $"Hello, {name}");

        [NexusOperationHandler]
        public IOperationHandler<string, string> Run() => WorkflowRunOperationHandler.FromHandleFactory(
            (WorkflowRunOperationContext context, string workflowId) =>
                context.StartWorkflowAsync((HandlerWorkflow wf) => wf.RunAsync(workflowId), new() { Id = workflowId }));
    }

    [Workflow]
    public sealed class HandlerWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string workflowId)
        {
            if (workflowId.StartsWith("wait-", StringComparison.Ordinal))
            {
                await Workflow.WaitConditionAsync(() => false); // until canceled
            }

            return $"Hello from {workflowId}";
        }
    }

    [Workflow]
    public sealed class CallerWorkflow
    {
        [WorkflowRun]
        public async Task<string[]> RunAsync(string endpoint, string handlerWorkflowId)
        {
            var client = Workflow.CreateNexusWorkflowClient<IClusterService>(endpoint);
            var sync = await client.ExecuteNexusOperationAsync(svc => svc.Greet("cluster"), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(90) });
            var async = await client.ExecuteNexusOperationAsync(svc => svc.Run(handlerWorkflowId), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(90) });
            return [sync, async];
        }
    }

    [Workflow]
    public sealed class CancelingCallerWorkflow
    {
        [WorkflowRun]
        public async Task RunAsync(string endpoint, string handlerWorkflowId)
        {
            using var cancel = new CancellationTokenSource();
            var operation = await Workflow.CreateNexusWorkflowClient<IClusterService>(endpoint).StartNexusOperationAsync(
                svc => svc.Run(handlerWorkflowId), new() { ScheduleToCloseTimeout = TimeSpan.FromSeconds(90), CancellationToken = cancel.Token });
#pragma warning disable CA1849, VSTHRD103 // CancelAsync is not deterministic in a workflow.
            cancel.Cancel();
#pragma warning restore CA1849, VSTHRD103
            await operation.GetResultAsync();
        }
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var url = await database.CreateDatabaseAsync();
        foreach (var name in new[] { "node-a", "node-b", "node-c" })
        {
            _nodes.Add(await BastionServer.StartAsync(ClusterNode.Options(url, name, _directory, Shards)));
        }
    }

    [Fact]
    public async Task SyncAndAsyncOperations_CompleteAcrossNodes()
    {
        var (endpoint, handlerQueue) = await SetUpAsync();
        var callerId = IdOwnedBy(0, "caller-");
        var handlerId = IdOwnedBy(1, "handler-");
        var before = _nodes.Select(n => n.ClusterServed).ToList();

        var result = await WithWorkersAsync(handlerQueue, async (starter, callerQueue) =>
            await starter.ExecuteWorkflowAsync((CallerWorkflow wf) => wf.RunAsync(endpoint, handlerId), new(callerId, callerQueue)).WaitAsync(TimeSpan.FromSeconds(120)));

        Assert.Equal(["Hello, cluster", $"Hello from {handlerId}"], result);

        // Both requests were made on A (the caller's run's node) and matched on C; the handler's run (B's) told A.
        var after = _nodes.Select(n => n.ClusterServed).ToList();
        Assert.True(after[2].NexusDispatches - before[2].NexusDispatches >= 2, "the Nexus requests were not sent to the queue's node");
        Assert.True(after[0].Operations > before[0].Operations, "the handler run's completion did not reach the caller's node");
    }

    [Fact]
    public async Task CancelOfAnAsyncOperation_ReachesTheHandlersRunOnAnotherNode()
    {
        var (endpoint, handlerQueue) = await SetUpAsync();
        var callerId = IdOwnedBy(0, "canceling-caller-");
        var handlerId = IdOwnedBy(1, "wait-");

        await WithWorkersAsync(handlerQueue, async (starter, callerQueue) =>
        {
            var run = await starter.StartWorkflowAsync((CancelingCallerWorkflow wf) => wf.RunAsync(endpoint, handlerId), new(callerId, callerQueue));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(120)));
            Assert.IsType<CanceledFailureException>(Assert.IsType<NexusOperationFailureException>(e.InnerException).InnerException);

            var events = (await run.FetchHistoryAsync()).Events.Select(h => h.EventType).ToList();
            // The handler's answer to the cancel request is recorded only if it comes before the operation's end: the
            // handler's run may close, and its callback end the operation, first (as in Temporal, a late answer is dropped).
            Assert.Contains(EventType.NexusOperationCancelRequested, events);
            Assert.Equal(EventType.NexusOperationCanceled, events.Last(t => t.ToString().StartsWith("NexusOperation", StringComparison.Ordinal)));
            var handlerRun = await Assert.ThrowsAsync<WorkflowFailedException>(() => starter.GetWorkflowHandle(handlerId).GetResultAsync());
            Assert.IsType<CanceledFailureException>(handlerRun.InnerException);
            return true;
        });
    }

    /// <summary>
    /// An answer goes to the node its token names (here, another node's, or a node that is not live), and one the
    /// namespace's dispatcher there does not hold is NOT_FOUND — never UNAVAILABLE or INTERNAL.
    /// </summary>
    [Fact]
    public async Task AnAnswersToken_RoutesItToTheNodeItNames_AndAnUnknownTaskIsNotFound()
    {
        await ClusterTests.SettledAsync(_nodes, Shards);
        var client = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var before = _nodes[2].ClusterServed.Forwards;
        foreach (var node in new[] { "node-a", "node-c", "node-gone" })
        {
            var e = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => client.WorkflowService.RespondNexusTaskCompletedAsync(new()
            {
                Namespace = "default",
                TaskToken = Google.Protobuf.ByteString.CopyFromUtf8($"{Guid.NewGuid():N}@{node}"),
                Response = new(),
            }));
            Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.NotFound, e.Code);
        }

        Assert.Equal(before + 1, _nodes[2].ClusterServed.Forwards);
    }

    /// <summary>
    /// A settled cluster, an endpoint every node knows, and a handler task queue whose Nexus tasks node C serves (so the
    /// handler worker's polls through B and the requests made on A all cross to it).
    /// </summary>
    private async Task<(string Endpoint, string HandlerQueue)> SetUpAsync()
    {
        await ClusterTests.SettledAsync(_nodes, Shards);
        var ns = DefaultNamespaceId();
        var names = _nodes.Select(n => n.Engine.Routing.Self).ToList();
        string handlerQueue;
        do
        {
            handlerQueue = ServerFixture.NewTaskQueue();
        }
        while (Rendezvous.OwnerOf(ClusterRouting.NexusQueueKey(ns, handlerQueue), names) != names[2]);

        Assert.All(_nodes, n => Assert.Equal(names[2], n.Engine.Routing.OwnerOfNexusQueue(ns, handlerQueue)));
        var client = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var endpoint = await NexusTestEndpoints.CreateAsync(client, "default.local", handlerQueue, allowed: "default.local");
        foreach (var node in _nodes)
        {
            await node.RefreshNamespacesAsync(); // the endpoint, created through A, known to every node now
        }

        return (endpoint, handlerQueue);
    }

    /// <summary>Runs <paramref name="test"/> with a starter client on A, the handler worker polling B and the caller's worker polling C.</summary>
    private async Task<T> WithWorkersAsync<T>(string handlerQueue, Func<TemporalClient, string, Task<T>> test)
    {
        var starter = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var handlerClient = await TemporalClient.ConnectAsync(new(_nodes[1].Address) { Namespace = "default" });
        var callerClient = await TemporalClient.ConnectAsync(new(_nodes[2].Address) { Namespace = "default" });
        var callerQueue = ServerFixture.NewTaskQueue();
        using var handler = new TemporalWorker(handlerClient, new TemporalWorkerOptions(handlerQueue).AddNexusService(new ClusterService()).AddWorkflow<HandlerWorkflow>());
        using var caller = new TemporalWorker(callerClient, new TemporalWorkerOptions(callerQueue).AddWorkflow<CallerWorkflow>().AddWorkflow<CancelingCallerWorkflow>());
        return await handler.ExecuteAsync(() => caller.ExecuteAsync(() => test(starter, callerQueue)));
    }

    private string DefaultNamespaceId() => _nodes[0].Namespaces.All.Single(n => n.Name == "default").Id;

    /// <summary>A new workflow id whose shard the node at <paramref name="node"/> owns.</summary>
    private string IdOwnedBy(int node, string prefix)
    {
        var ns = DefaultNamespaceId();
        string id;
        do
        {
            id = prefix + Guid.NewGuid().ToString("N");
        }
        while (!_nodes[node].Engine.OwnsShard(_nodes[node].Engine.ShardOf(ns, id)));

        return id;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }
}
