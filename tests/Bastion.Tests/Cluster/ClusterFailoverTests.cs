using System.Globalization;
using Bastion.Tests.Integration;
using Bastion.Tests.Storage.Postgres;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Three <c>bastion server start-dev</c> processes clustered on one PostgreSQL database; one is killed with SIGKILL while
/// workflows run (started through a second node, worked through the third): its shards move to the others and every
/// workflow completes exactly once — one activity result, one timer — with no workflow failed. The nodes talk mutual
/// TLS with certificates <c>bastion certs ca|node create</c> made.
/// </summary>
public sealed class ClusterFailoverTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static int s_greetings;

    [Workflow]
    public sealed class GreetAfterTimer
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string name)
        {
            await Workflow.DelayAsync(TimeSpan.FromSeconds(2));
            return await Workflow.ExecuteActivityAsync(() => Greet(name), new() { StartToCloseTimeout = TimeSpan.FromSeconds(60) });
        }
    }

    [Activity]
    public static string Greet(string name)
    {
        Interlocked.Increment(ref s_greetings);
        return $"Hello, {name}";
    }

    [Fact]
    public async Task ANodeKilledUnderLoad_ItsShardsMove_AndEveryWorkflowCompletesOnce()
    {
        var url = await database.CreateDatabaseAsync();
        var directory = Directory.CreateTempSubdirectory("bastion-failover-").FullName;
        var nodes = new List<ServerProcess>();
        try
        {
            Assert.Equal(0, (await Cli.CliProcess.RunInAsync(directory, ["certs", "ca", "create", "--cn", "Cluster CA", "--cert-file", "cluster-ca.pem", "--key-file", "cluster-ca.key"])).ExitCode);
            foreach (var name in new[] { "node-a", "node-b", "node-c" })
            {
                var made = await Cli.CliProcess.RunInAsync(directory, ["certs", "node", "create", "--ca", "cluster-ca.pem", "--name", name, "--ip", "127.0.0.1", "--cert-file", name + ".pem", "--key-file", name + ".key"]);
                Assert.True(made.ExitCode == 0, made.Output);
            }

            foreach (var name in new[] { "node-a", "node-b", "node-c" })
            {
                var port = ServerProcess.FreePort();
                nodes.Add(await ServerProcess.StartAsync(port,
                [
                    "server", "start-dev", "--headless", "--port", port.ToString(CultureInfo.InvariantCulture), "--log-level", "warn",
                    "--database-url", PostgresDatabase.UrlText(url.Database), "--master-key-file", Path.Combine(directory, "master-key"), "--shards", "8",
                    "--cluster-address", $"127.0.0.1:{ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture)}", "--node-name", name,
                    "--cluster-cert-file", Path.Combine(directory, name + ".pem"), "--cluster-key-file", Path.Combine(directory, name + ".key"),
                    "--cluster-ca-file", Path.Combine(directory, "cluster-ca.pem"),
                ], ServerProcess.ReadyLine));
            }

            var client = await TemporalClient.ConnectAsync(new(nodes[0].Address) { Namespace = "default" });
            var workerClient = await TemporalClient.ConnectAsync(new(nodes[1].Address) { Namespace = "default" });
            var taskQueue = ServerFixture.NewTaskQueue();
            using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<GreetAfterTimer>().AddActivity(Greet));
            await worker.ExecuteAsync(async () =>
            {
                var before = s_greetings;
                var ids = Enumerable.Range(0, 24).Select(i => $"failover-{i}-{Guid.NewGuid():N}").ToList();
                var handles = new List<WorkflowHandle<GreetAfterTimer, string>>();
                foreach (var id in ids)
                {
                    handles.Add(await client.StartWorkflowAsync((GreetAfterTimer wf) => wf.RunAsync(id), new(id, taskQueue)));
                }

                nodes[2].Kill(); // its timers are pending: they fire on the nodes that take its shards

                foreach (var (handle, id) in handles.Zip(ids))
                {
                    Assert.Equal($"Hello, {id}", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(120)));
                    var events = (await handle.FetchHistoryAsync()).Events.ToList();
                    Assert.Single(events, e => e.EventType == EventType.TimerFired);
                    Assert.Single(events, e => e.EventType == EventType.ActivityTaskCompleted);
                    Assert.Equal(EventType.WorkflowExecutionCompleted, events[^1].EventType);
                }

                Assert.Equal(ids.Count, s_greetings - before); // each activity ran once
            });
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }
    }
}
