using System.Globalization;
using Bastion.Engine.Cluster;
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
/// then started again) while workflows are being started and worked: nothing is lost or done twice. And schedules on a
/// killed node's shards fire once per action, none skipped.
/// </summary>
public sealed class ClusterFailoverTests(PostgresDatabase database, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private static readonly string[] s_names = ["node-a", "node-b", "node-c"];
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

    [Workflow]
    public sealed class Tick
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("tick");
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
        await ClusterNode.WithProcessesAsync("bastion-failover-", output, async (directory, nodes) =>
        {
            Assert.Equal(0, (await Cli.CliProcess.RunInAsync(directory, ["certs", "ca", "create", "--cn", "Cluster CA", "--cert-file", "cluster-ca.pem", "--key-file", "cluster-ca.key"])).ExitCode);
            foreach (var name in s_names)
            {
                var made = await Cli.CliProcess.RunInAsync(directory, ["certs", "node", "create", "--ca", "cluster-ca.pem", "--name", name, "--ip", "127.0.0.1", "--cert-file", name + ".pem", "--key-file", name + ".key"]);
                Assert.True(made.ExitCode == 0, made.Output);
            }

            foreach (var name in s_names)
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
        });
    }

    [Fact]
    public async Task ARollingRestartUnderLoad_LosesNothing_AndDoesNothingTwice()
    {
        var url = await database.CreateDatabaseAsync();
        var ports = s_names.Select(_ => ServerProcess.FreePort()).ToArray();
        var clusterPorts = s_names.Select(_ => ServerProcess.FreePort()).ToArray();
        await ClusterNode.WithProcessesAsync("bastion-rolling-", output, async (directory, started) =>
        {
            async Task<ServerProcess> StartAsync(int i)
            {
                var node = await ServerProcess.StartAsync(ports[i], ClusterNode.ProcessArguments(url, directory, s_names[i], ports[i], clusterPorts[i]), ServerProcess.ReadyLine);
                started.Add(node); // every process, restarted ones too: a failure prints all their logs
                return node;
            }

            var nodes = new ServerProcess?[3];
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
                    Assert.True(await nodes[i]!.TerminateAsync(TimeSpan.FromSeconds(30)), $"{s_names[i]} did not stop within 30 s of SIGTERM");
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
        });
    }

    /// <summary>
    /// Schedules whose shards a killed node held go on firing from the nodes that take those shards: the actions that fell
    /// due while the shards moved are taken late (within the catch-up window), none is skipped and none taken twice —
    /// every scheduled time has one run, one run per time, each completed, and each schedule counts exactly the runs it
    /// started.
    /// </summary>
    [Fact]
    public async Task SchedulesOnAKilledNode_FireOncePerAction_AndSkipNone()
    {
        var url = await database.CreateDatabaseAsync();
        await ClusterNode.WithProcessesAsync("bastion-schedules-", output, async (directory, nodes) =>
        {
            foreach (var name in s_names)
            {
                var port = ServerProcess.FreePort();
                nodes.Add(await ServerProcess.StartAsync(port, ClusterNode.ProcessArguments(url, directory, name, port, ServerProcess.FreePort()), ServerProcess.ReadyLine));
            }

            // Settled: every shard held by the node the assignment gives it to.
            await using var db = url.CreateDataSource();
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                await using var read = db.CreateCommand("SELECT shard_id, owner FROM shards");
                await using var rows = await read.ExecuteReaderAsync();
                var owners = new Dictionary<int, string?>();
                while (await rows.ReadAsync())
                {
                    owners[rows.GetInt32(0)] = rows.IsDBNull(1) ? null : rows.GetString(1);
                }

                return Enumerable.Range(0, 8).All(s => owners.GetValueOrDefault(s) == Rendezvous.OwnerOf(Rendezvous.ShardKey(s), s_names));
            }, TimeSpan.FromSeconds(60)), "the cluster did not settle");

            var client = await TemporalClient.ConnectAsync(new(nodes[0].Address) { Namespace = "default" });
            var workerClient = await TemporalClient.ConnectAsync(new(nodes[1].Address) { Namespace = "default" });
            var namespaceId = (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" })).NamespaceInfo.Id;
            string ScheduleIdOn(string node)
            {
                string id;
                do
                {
                    id = "failover-schedule-" + Guid.NewGuid().ToString("N");
                }
                while (Rendezvous.OwnerOf(Rendezvous.ShardKey(Bastion.Engine.History.HistoryEngine.ShardOf(namespaceId, id, 8)), s_names) != node);

                return id;
            }

            var interval = TimeSpan.FromSeconds(2);
            var taskQueue = ServerFixture.NewTaskQueue();
            using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<Tick>());
            await worker.ExecuteAsync(async () =>
            {
                var handles = new List<Temporalio.Client.Schedules.ScheduleHandle>();
                foreach (var id in new[] { ScheduleIdOn("node-c"), ScheduleIdOn("node-c"), ScheduleIdOn("node-a") })
                {
                    handles.Add(await client.CreateScheduleAsync(id, new Temporalio.Client.Schedules.Schedule(
                        Temporalio.Client.Schedules.ScheduleActionStartWorkflow.Create((Tick t) => t.RunAsync(), new(id + "-run", taskQueue)),
                        new Temporalio.Client.Schedules.ScheduleSpec { Intervals = [new(interval)] })
                    {
                        Policy = new() { Overlap = ScheduleOverlapPolicy.AllowAll }, // every action starts, whatever is still running
                    }));
                }

                async Task<DateTime> LatestActionAsync(Temporalio.Client.Schedules.ScheduleHandle handle) =>
                    (await handle.DescribeAsync()).Info.RecentActions.Select(a => a.ScheduledAt).DefaultIfEmpty(DateTime.MinValue).Max();

                Assert.True(await Eventually.HoldsAsync(async () => (await Task.WhenAll(handles.Select(h => h.DescribeAsync()))).All(d => d.Info.NumActions >= 2), TimeSpan.FromSeconds(60)));
                var killedAt = DateTime.UtcNow;
                nodes[2].Kill(); // node-c: two of the schedules' shards are its

                // Firing again from their new nodes, well after the shards moved (within 15 s).
                Assert.True(await Eventually.HoldsAsync(async () => (await Task.WhenAll(handles.Select(LatestActionAsync))).All(t => t >= killedAt + TimeSpan.FromSeconds(20)), TimeSpan.FromSeconds(90)),
                    "the schedules did not fire again after the kill");
                foreach (var handle in handles)
                {
                    await handle.PauseAsync();
                }

                foreach (var handle in handles)
                {
                    var numActions = 0L;
                    List<Temporalio.Client.WorkflowExecution> runs = [];
                    Assert.True(await Eventually.HoldsAsync(async () =>
                    {
                        var info = (await handle.DescribeAsync()).Info;
                        numActions = info.NumActions;
                        runs = [];
                        await foreach (var run in client.ListWorkflowsAsync($"TemporalScheduledById = '{handle.Id}'"))
                        {
                            runs.Add(run);
                        }

                        return info.RunningActions.Count == 0 && runs.Count == numActions && runs.All(r => r.Status == WorkflowExecutionStatus.Completed);
                    }, TimeSpan.FromSeconds(60)), $"{handle.Id}: {numActions} actions, runs: {string.Join(", ", runs.Select(r => $"{r.Id} {r.Status}"))}");

                    Assert.Equal(runs.Count, runs.Select(r => r.Id).Distinct().Count()); // no time started twice
                    var times = runs.Select(r => DateTime.ParseExact(r.Id[(handle.Id.Length + "-run-".Length)..], "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)).Order().ToList();
                    Assert.All(times.Zip(times.Skip(1)), pair => Assert.Equal(interval, pair.Second - pair.First)); // none skipped
                    Assert.True(times[0] < killedAt && times[^1] >= killedAt + TimeSpan.FromSeconds(20), $"{handle.Id}: runs from {times[0]:O} to {times[^1]:O}, the kill at {killedAt:O}");
                }
            });
        });
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
