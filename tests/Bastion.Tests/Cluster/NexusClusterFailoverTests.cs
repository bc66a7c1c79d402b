using Bastion.Engine.Cluster;
using Bastion.Tests.Integration;
using Bastion.Tests.Nexus;
using Bastion.Tests.Storage.Postgres;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Three <c>bastion server start-dev</c> processes clustered on one PostgreSQL database; the node serving a task queue's
/// Nexus tasks is killed with SIGKILL: the handler worker's polls (through another node) move to the queue's new node,
/// the caller's retried requests follow, and a new operation — sync and async — completes.
/// </summary>
public sealed class NexusClusterFailoverTests(PostgresDatabase database, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task TheNexusQueuesNodeKilled_ANewOperationStillCompletes()
    {
        var url = await database.CreateDatabaseAsync();
        var names = new[] { "node-a", "node-b", "node-c" };
        await ClusterNode.WithProcessesAsync("bastion-nexus-failover-", output, async (directory, nodes) =>
        {
            foreach (var name in names)
            {
                var port = ServerProcess.FreePort();
                nodes.Add(await ServerProcess.StartAsync(port, ClusterNode.ProcessArguments(url, directory, name, port, ServerProcess.FreePort()), ServerProcess.ReadyLine));
            }

            // The caller's client and worker on A, the handler worker on B; the handler queue's Nexus tasks on C.
            var client = await TemporalClient.ConnectAsync(new(nodes[0].Address) { Namespace = "default" });
            var handlerClient = await TemporalClient.ConnectAsync(new(nodes[1].Address) { Namespace = "default" });
            var ns = (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" })).NamespaceInfo.Id;
            string handlerQueue;
            do
            {
                handlerQueue = ServerFixture.NewTaskQueue();
            }
            while (Rendezvous.OwnerOf(ClusterRouting.NexusQueueKey(ns, handlerQueue), names) != "node-c");

            var endpoint = await NexusTestEndpoints.CreateAsync(client, "default.local", handlerQueue, allowed: "default.local");
            foreach (var node in nodes)
            {
                var nodeClient = await TemporalClient.ConnectAsync(new(node.Address) { Namespace = "default" });
                Assert.True(await Eventually.HoldsAsync(async () =>
                    (await nodeClient.Connection.OperatorService.ListNexusEndpointsAsync(new() { Name = endpoint })).Endpoints.Count == 1,
                    TimeSpan.FromSeconds(30)), $"node {node.Address} did not learn of the endpoint");
            }

            var callerQueue = ServerFixture.NewTaskQueue();
            using var handler = new TemporalWorker(handlerClient, new TemporalWorkerOptions(handlerQueue)
                .AddNexusService(new NexusClusterTests.ClusterService()).AddWorkflow<NexusClusterTests.HandlerWorkflow>());
            using var caller = new TemporalWorker(client, new TemporalWorkerOptions(callerQueue).AddWorkflow<NexusClusterTests.CallerWorkflow>());
            await handler.ExecuteAsync(() => caller.ExecuteAsync(async () =>
            {
                async Task CompletesAsync(string prefix)
                {
                    var handlerId = $"{prefix}-handler-{Guid.NewGuid():N}";
                    var result = await client.ExecuteWorkflowAsync(
                        (NexusClusterTests.CallerWorkflow wf) => wf.RunAsync(endpoint, handlerId), new($"{prefix}-caller-{Guid.NewGuid():N}", callerQueue))
                        .WaitAsync(TimeSpan.FromSeconds(150));
                    Assert.Equal(["Hello, cluster", $"Hello from {handlerId}"], result);
                }

                await CompletesAsync("before");
                nodes[2].Kill();
                await CompletesAsync("after");
            }));
        });
    }
}
