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
/// TLS with certificates <c>bastion certs ca|node create</c> made. And all three restarted one after another (SIGTERM,
/// then started again) while workflows are being started and worked: nothing is lost or done twice.
/// </summary>
public sealed class ClusterFailoverTests(PostgresDatabase database, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    /// <summary>How much of each node's log a failed test prints (warnings and errors only: the nodes run at --log-level warn).</summary>
    private const int LogLinesOnFailure = 80;

    private static readonly int[] s_restartOrder = [2, 1, 0]; // the worker's node second, the starter's last
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
                foreach (var id in ids)
                {
                    await client.StartWorkflowAsync((GreetAfterTimer wf) => wf.RunAsync(id), new(id, taskQueue));
                }

                nodes[2].Kill(); // its timers are pending: they fire on the nodes that take its shards

                foreach (var id in ids)
                {
                    await CompletedOnceAsync(client, id);
                }

                Assert.Equal(ids.Count, s_greetings - before); // each activity ran once
            });
        }
        catch
        {
            PrintLogs(nodes);
            throw;
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

    [Fact]
    public async Task ARollingRestartUnderLoad_LosesNothing_AndDoesNothingTwice()
    {
        var url = await database.CreateDatabaseAsync();
        var directory = Directory.CreateTempSubdirectory("bastion-rolling-").FullName;
        var names = new[] { "node-a", "node-b", "node-c" };
        var ports = names.Select(_ => ServerProcess.FreePort()).ToArray();
        var clusterPorts = names.Select(_ => ServerProcess.FreePort()).ToArray();
        var started = new List<ServerProcess>(); // every process, restarted ones too: a failure prints all their logs
        async Task<ServerProcess> StartAsync(int i)
        {
            var node = await ServerProcess.StartAsync(ports[i],
            [
                "server", "start-dev", "--headless", "--port", ports[i].ToString(CultureInfo.InvariantCulture), "--log-level", "warn",
                "--database-url", PostgresDatabase.UrlText(url.Database), "--master-key-file", Path.Combine(directory, "master-key"), "--shards", "8",
                "--cluster-address", $"127.0.0.1:{clusterPorts[i].ToString(CultureInfo.InvariantCulture)}", "--node-name", names[i],
            ], ServerProcess.ReadyLine);
            started.Add(node);
            return node;
        }

        var nodes = new ServerProcess?[3];
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes[i] = await StartAsync(i);
            }

            var client = await TemporalClient.ConnectAsync(new(nodes[0]!.Address) { Namespace = "default" });
            var workerClient = await TemporalClient.ConnectAsync(new(nodes[1]!.Address) { Namespace = "default" });
            var taskQueue = ServerFixture.NewTaskQueue();
            using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<GreetAfterTimer>().AddActivity(Greet));
            await worker.ExecuteAsync(async () =>
            {
                var before = s_greetings;
                var ids = new List<string>();
                using var stopLoad = new CancellationTokenSource();
                var load = Task.Run(async () =>
                {
                    while (!stopLoad.IsCancellationRequested)
                    {
                        var id = $"rolling-{ids.Count}-{Guid.NewGuid():N}";
                        // The SDK retries UNAVAILABLE; while the starter's own node is down (a refused connection is a "transport
                        // error", UNKNOWN) its retries can run out, so the start is tried again with the same id (UseExisting: a
                        // start that did land is not started twice).
                        for (var attempt = 0; ; attempt++)
                        {
                            try
                            {
                                await client.StartWorkflowAsync((GreetAfterTimer wf) => wf.RunAsync(id), new(id, taskQueue) { IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting });
                                break;
                            }
                            catch (Temporalio.Exceptions.RpcException e) when (attempt < 30 && e.Code is Temporalio.Exceptions.RpcException.StatusCode.Unavailable or Temporalio.Exceptions.RpcException.StatusCode.Unknown or Temporalio.Exceptions.RpcException.StatusCode.DeadlineExceeded or Temporalio.Exceptions.RpcException.StatusCode.Cancelled)
                            {
                                await Task.Delay(TimeSpan.FromSeconds(1));
                            }
                        }

                        ids.Add(id);
                        await Task.Delay(TimeSpan.FromMilliseconds(150));
                    }
                });

                foreach (var i in s_restartOrder)
                {
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    Assert.True(await nodes[i]!.TerminateAsync(TimeSpan.FromSeconds(30)), $"{names[i]} did not stop within 30 s of SIGTERM");
                    nodes[i]!.Dispose();
                    nodes[i] = await StartAsync(i);
                }

                await Task.Delay(TimeSpan.FromSeconds(2));
                await stopLoad.CancelAsync();
                await load;
                Assert.True(ids.Count > 10, $"only {ids.Count} workflows were started");

                var attempts = 0;
                foreach (var id in ids)
                {
                    attempts += await CompletedOnceAsync(client, id);
                }

                // The worker's one node is restarted too: a completion its SDK gave up on while that node was down is
                // lost like any unacknowledged call, and the activity's next attempt (after its timeout) runs it again —
                // at least once, as Temporal's activities. What must never happen is one attempt running twice.
                Assert.InRange(s_greetings - before, ids.Count, attempts);
            });
        }
        catch
        {
            PrintLogs(started);
            throw;
        }
        finally
        {
            foreach (var node in nodes)
            {
                node?.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    private void PrintLogs(IEnumerable<ServerProcess> nodes)
    {
        var n = 0;
        foreach (var node in nodes)
        {
            output.WriteLine($"--- node process {++n} (port {node.Address}), its last {LogLinesOnFailure} lines:");
            foreach (var line in node.Output.TakeLast(LogLinesOnFailure))
            {
                output.WriteLine(line);
            }
        }
    }

    /// <summary>The workflow completed with its greeting, its timer fired once and its activity completed once; the attempt that completed it.</summary>
    private static async Task<int> CompletedOnceAsync(TemporalClient client, string id)
    {
        var handle = client.GetWorkflowHandle<GreetAfterTimer>(id);
        string result;
        try
        {
            result = await handle.GetResultAsync<string>().WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            // Where it stands, so a failure says what was lost: its history and what is pending.
            var described = await client.WorkflowService.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } });
            var history = (await handle.FetchHistoryAsync()).Events.Select(e => $"{e.EventId} {e.EventType} {e.EventTime.ToDateTime():HH:mm:ss.fff}");
            throw new TimeoutException(
                $"{id} did not complete within 120 s: {described.WorkflowExecutionInfo.Status}; pending workflow task: {described.PendingWorkflowTask}; "
                + $"pending activities: {string.Join("; ", described.PendingActivities)}; history: {string.Join(", ", history)}");
        }

        Assert.Equal($"Hello, {id}", result);
        var events = (await handle.FetchHistoryAsync()).Events.ToList();
        Assert.Single(events, e => e.EventType == EventType.TimerFired);
        Assert.Single(events, e => e.EventType == EventType.ActivityTaskCompleted);
        Assert.Equal(EventType.WorkflowExecutionCompleted, events[^1].EventType);
        return Assert.Single(events, e => e.EventType == EventType.ActivityTaskStarted).ActivityTaskStartedEventAttributes.Attempt;
    }
}
