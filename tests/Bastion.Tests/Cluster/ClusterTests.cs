using Bastion.Engine.Cluster;
using Bastion.Server;
using Bastion.Tests.Integration;
using Bastion.Tests.Storage.Postgres;
using Google.Protobuf;
using Temporalio.Activities;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Three Bastion nodes on one PostgreSQL database, each with its own client address: shards spread over them by the
/// assignment, and any node serves any call — workflows started through one node, worked by a worker polling another,
/// signalled and queried through the third, complete; a node that leaves hands its shards to the others and the work
/// goes on.
/// </summary>
public sealed class ClusterTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const int Shards = 8;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-cluster-" + Guid.NewGuid().ToString("N"));
    private readonly List<BastionServer> _nodes = [];

    [Workflow]
    public sealed class WaitsThenGreets
    {
        private string? _name;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _name is not null);
            return await Workflow.ExecuteActivityAsync(() => Greeter.Greet(_name!), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
        }

        [WorkflowSignal]
        public Task NameAsync(string name)
        {
            _name = name;
            return Task.CompletedTask;
        }

        [WorkflowQuery]
        public string Waiting => _name is null ? "waiting" : "named";
    }

    /// <summary>Starts children (their ids fall on every shard), signals each from the workflow, and leaves one running to its close policy.</summary>
    [Workflow]
    public sealed class Family
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string prefix)
        {
            var children = new List<ChildWorkflowHandle<Child, string>>();
            for (var i = 0; i < 6; i++)
            {
                children.Add(await Workflow.StartChildWorkflowAsync((Child c) => c.RunAsync(), new() { Id = $"{prefix}-child-{i}" }));
            }

            foreach (var child in children)
            {
                await Workflow.GetExternalWorkflowHandle<Child>(child.Id).SignalAsync(c => c.GoAsync(child.Id));
            }

            var results = new List<string>();
            foreach (var child in children)
            {
                results.Add(await child.GetResultAsync());
            }

            // Left running when the parent completes: its close policy terminates it.
            await Workflow.StartChildWorkflowAsync((Child c) => c.RunAsync(), new() { Id = $"{prefix}-orphan", ParentClosePolicy = Temporalio.Workflows.ParentClosePolicy.Terminate });
            return string.Join(",", results);
        }
    }

    [Workflow]
    public sealed class Child
    {
        private string? _word;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _word is not null);
            return _word!;
        }

        [WorkflowSignal]
        public Task GoAsync(string word)
        {
            _word = word;
            return Task.CompletedTask;
        }
    }

    [Workflow]
    public sealed class Quick
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("done");
    }

    [Workflow]
    public sealed class Greets
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) =>
            Workflow.ExecuteActivityAsync(() => Greeter.Greet(name), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
    }

    public static class Greeter
    {
        [Activity]
        public static string Greet(string name) => $"Hello, {name}";
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var url = await database.CreateDatabaseAsync();
        foreach (var name in new[] { "node-a", "node-b", "node-c" })
        {
            var options = ClusterNode.Options(url, name, _directory, Shards);
            options.DynamicConfig["matching.numTaskqueueReadPartitions"] = "4";
            _nodes.Add(await BastionServer.StartAsync(options));
        }
    }

    private static Task SettledAsync(IReadOnlyList<BastionServer> nodes) => SettledAsync(nodes, Shards);

    /// <summary>Every node sees all live nodes, and every shard is held by the node the assignment gives it to.</summary>
    internal static async Task SettledAsync(IReadOnlyList<BastionServer> nodes, int shards)
    {
        var names = nodes.Select(n => n.Engine.Routing.Self).Order(StringComparer.Ordinal).ToList();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(
            nodes.All(n => n.Engine.Routing.Membership.Live.Select(l => l.NodeId).SequenceEqual(names))
            && Enumerable.Range(0, shards).All(s => nodes.Count(n => n.Engine.OwnsShard(s)) == 1
                && nodes.Single(n => n.Engine.OwnsShard(s)).Engine.Routing.Self == Rendezvous.OwnerOf(Rendezvous.ShardKey(s), names))),
            TimeSpan.FromSeconds(60)), "the cluster did not settle: " + string.Join("; ", nodes.Select(n => $"{n.Engine.Routing.Self}: {string.Join(",", n.Engine.OwnedShards)}")));
    }

    [Fact]
    public async Task AnyNodeServesAnyCall_AndALeavingNodesShardsMoveOn()
    {
        await SettledAsync(_nodes);
        var routed = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "bastion_cluster_routed_calls")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var route = tags.ToArray().Single(t => t.Key == "route").Value as string;
            routed.AddOrUpdate(route!, value, (_, sum) => sum + value);
        });
        listener.Start();

        var starter = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var signaller = await TemporalClient.ConnectAsync(new(_nodes[2].Address) { Namespace = "default" });
        var workerClient = await TemporalClient.ConnectAsync(new(_nodes[1].Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<WaitsThenGreets>().AddAllActivities(typeof(Greeter), null));
        await worker.ExecuteAsync(async () =>
        {
            // Enough workflows that every node owns some of them.
            var ids = Enumerable.Range(0, 12).Select(i => $"cluster-{i}-{Guid.NewGuid():N}").ToList();
            var handles = new List<WorkflowHandle<WaitsThenGreets, string>>();
            foreach (var id in ids)
            {
                handles.Add(await starter.StartWorkflowAsync((WaitsThenGreets wf) => wf.RunAsync(), new(id, taskQueue)));
            }

            foreach (var id in ids)
            {
                var handle = signaller.GetWorkflowHandle<WaitsThenGreets>(id);
                Assert.Equal("waiting", await handle.QueryAsync(wf => wf.Waiting));
                await handle.SignalAsync(wf => wf.NameAsync(id));
            }

            foreach (var (handle, id) in handles.Zip(ids))
            {
                Assert.Equal($"Hello, {id}", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            }

            // The calls crossed nodes: forwarded to the owners of their workflows, tasks handed to their queue's owner.
            var served = _nodes.Select(n => n.ClusterServed).ToList();
            Assert.True(served.Sum(s => s.Forwards) > 0, "no call was forwarded");
            Assert.True(routed.GetValueOrDefault("forwarded") > 0 && routed.GetValueOrDefault("local") > 0, "bastion_cluster_routed_calls: " + string.Join(", ", routed));
            Assert.True(served.Sum(s => s.HandOffs + s.Starts) > 0, "no task crossed nodes");

            // A node leaves (a graceful stop): its shards move to the others, and new work runs as before.
            var leaving = _nodes[2];
            _nodes.Remove(leaving);
            await leaving.DisposeAsync();
            await SettledAsync(_nodes);
            var late = $"cluster-late-{Guid.NewGuid():N}";
            var lateHandle = await starter.StartWorkflowAsync((WaitsThenGreets wf) => wf.RunAsync(), new(late, taskQueue));
            await starter.GetWorkflowHandle<WaitsThenGreets>(late).SignalAsync(wf => wf.NameAsync("late"));
            Assert.Equal("Hello, late", await lateHandle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        });
    }

    /// <summary>
    /// A task queue has four partitions spread over the nodes (the queue's name is chosen so that every node owns one):
    /// workers polling two of the nodes share its tasks, including those of the third node's shards, whose partition
    /// has no poller of its own; every workflow completes; DescribeTaskQueue through the third node lists both workers.
    /// </summary>
    [Fact]
    public async Task ATaskQueuesPartitions_SpreadOverTheNodes_AndWorkersOnAnyNodeShareThem()
    {
        await SettledAsync(_nodes);
        var ns = _nodes[0].Namespaces.All.Single(n => n.Name == "default").Id;
        var routing = _nodes[0].Engine.Routing;
        Assert.Equal(4, routing.Partitions);
        string taskQueue;
        do
        {
            taskQueue = ServerFixture.NewTaskQueue();
        }
        while (routing.OwnersOfPartitions(new(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Workflow)).Count() < 3
            || routing.OwnersOfPartitions(new(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Activity)).Count() < 3);

        var client = await TemporalClient.ConnectAsync(new(_nodes[1].Address) { Namespace = "default" });
        var clientA = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var clientC = await TemporalClient.ConnectAsync(new(_nodes[2].Address) { Namespace = "default" });
        using var workerA = new TemporalWorker(clientA, new TemporalWorkerOptions(taskQueue) { Identity = "worker-a" }.AddWorkflow<Greets>().AddAllActivities(typeof(Greeter), null));
        using var workerC = new TemporalWorker(clientC, new TemporalWorkerOptions(taskQueue) { Identity = "worker-c" }.AddWorkflow<Greets>().AddAllActivities(typeof(Greeter), null));
        await workerA.ExecuteAsync(() => workerC.ExecuteAsync(async () =>
        {
            var names = Enumerable.Range(0, 24).Select(i => $"partitioned-{i}-{Guid.NewGuid():N}").ToList();
            var results = await Task.WhenAll(names.Select(n => client.ExecuteWorkflowAsync((Greets g) => g.RunAsync(n), new(n, taskQueue))));
            Assert.Equal(names.Select(n => $"Hello, {n}"), results);

            var described = await client.WorkflowService.DescribeTaskQueueAsync(new()
            {
                Namespace = "default",
                TaskQueue = new() { Name = taskQueue },
                TaskQueueType = Temporalio.Api.Enums.V1.TaskQueueType.Workflow,
            });
            Assert.Equal(["worker-a", "worker-c"], described.Pollers.Select(p => p.Identity).Order(StringComparer.Ordinal));
        }));

        // Polls and tasks were matched on partitions of more than one node.
        var workflowQueue = new Bastion.Engine.Matching.QueueKey(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Workflow);
        Assert.True(_nodes.Count(n => n.Engine.Matching.HeldPartitions(workflowQueue).Count > 0) > 1);
        Assert.True(_nodes.Sum(n => n.Engine.Matching.HeldPartitions(workflowQueue).Count) > 1);
    }

    /// <summary>
    /// A poll sent to a node that serves none of its task queue — as a node whose view of the cluster is behind sends it,
    /// after a change the receiving node has already seen — ends empty within a heartbeat, so that its worker polls again
    /// and reaches the queue's node, instead of waiting out its long poll where none of the queue's tasks will come
    /// (workflow, activity and Nexus polls alike); a poll sent to a node that serves the queue waits.
    /// </summary>
    [Fact]
    public async Task APollSentToANodeThatDoesNotServeItsQueue_EndsEmptyWithinAHeartbeat()
    {
        await SettledAsync(_nodes);
        var ns = _nodes[0].Namespaces.All.Single(n => n.Name == "default").Id;
        var routing = _nodes[0].Engine.Routing;
        var stranger = _nodes[1].Engine.Routing.Self;
        string taskQueue;
        do
        {
            taskQueue = ServerFixture.NewTaskQueue();
        }
        while (routing.OwnersOfPartitions(new(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Workflow)).Contains(stranger)
            || routing.OwnersOfPartitions(new(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Activity)).Contains(stranger)
            || routing.OwnerOfNexusQueue(ns, taskQueue) == stranger);

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        Task<byte[]> SendAsync(string node, string method, IMessage request, CancellationToken cancellationToken)
        {
            var sender = (Bastion.Server.Cluster.ClusterClient)_nodes.First(n => n.Engine.Routing.Self != node).Engine.Routing.Transport!;
            return sender.ForwardAsync(node, "/temporal.api.workflowservice.v1.WorkflowService/" + method, ns, request.ToByteArray(), deadline, cancellationToken);
        }

        var queue = new Temporalio.Api.TaskQueue.V1.TaskQueue { Name = taskQueue };
        using var stop = new CancellationTokenSource();
        var owner = routing.OwnerOfQueue(new(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Workflow));
        var waiting = SendAsync(owner, "PollWorkflowTaskQueue", new PollWorkflowTaskQueueRequest { Namespace = "default", TaskQueue = queue, Identity = "at-the-owner" }, stop.Token);

        var bound = TimeSpan.FromSeconds(30); // a long poll's minute less its margin would be 59 s
        var workflowTask = PollWorkflowTaskQueueResponse.Parser.ParseFrom(await SendAsync(stranger, "PollWorkflowTaskQueue", new PollWorkflowTaskQueueRequest { Namespace = "default", TaskQueue = queue, Identity = "misplaced" }, CancellationToken.None).WaitAsync(bound));
        var activityTask = PollActivityTaskQueueResponse.Parser.ParseFrom(await SendAsync(stranger, "PollActivityTaskQueue", new PollActivityTaskQueueRequest { Namespace = "default", TaskQueue = queue, Identity = "misplaced" }, CancellationToken.None).WaitAsync(bound));
        var nexusTask = PollNexusTaskQueueResponse.Parser.ParseFrom(await SendAsync(stranger, "PollNexusTaskQueue", new PollNexusTaskQueueRequest { Namespace = "default", TaskQueue = queue, Identity = "misplaced" }, CancellationToken.None).WaitAsync(bound));
        Assert.True(workflowTask.TaskToken.IsEmpty && activityTask.TaskToken.IsEmpty && nexusTask.TaskToken.IsEmpty);

        Assert.False(waiting.IsCompleted, "the poll at the queue's node ended too");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => waiting);
    }

    /// <summary>
    /// A namespace's worker calls all reach the node that holds its worker registry, whichever node the client called;
    /// a task queue's configuration set through one node is described through another; the partitions are listed with
    /// the address of the node that owns each (issue 21).
    /// </summary>
    [Fact]
    public async Task WorkerHeartbeatsAndTaskQueueConfig_AreServedThroughAnyNode()
    {
        await SettledAsync(_nodes);
        var clients = new List<TemporalClient>();
        foreach (var node in _nodes)
        {
            clients.Add(await TemporalClient.ConnectAsync(new(node.Address) { Namespace = "default" }));
        }

        var key = "cluster-worker-" + Guid.NewGuid().ToString("N");
        var heartbeat = new Temporalio.Api.WorkflowService.V1.RecordWorkerHeartbeatRequest { Namespace = "default" };
        heartbeat.WorkerHeartbeat.Add(new Temporalio.Api.Worker.V1.WorkerHeartbeat { WorkerInstanceKey = key, TaskQueue = "cluster-queue", Status = Temporalio.Api.Enums.V1.WorkerStatus.Running });
        await clients[0].WorkflowService.RecordWorkerHeartbeatAsync(heartbeat);
        foreach (var client in clients)
        {
            var listed = await client.WorkflowService.ListWorkersAsync(new() { Namespace = "default", Query = $"WorkerInstanceKey = '{key}'" });
            Assert.Equal(key, Assert.Single(listed.Workers).WorkerInstanceKey);
        }

        var taskQueue = ServerFixture.NewTaskQueue();
        await clients[0].WorkflowService.UpdateTaskQueueConfigAsync(TaskQueueConfigTests.Limit(taskQueue, 5));
        Assert.True(await Eventually.HoldsAsync(async () =>
            (await TaskQueueConfigTests.DescribeAsync(clients[2].WorkflowService, taskQueue)).Config.QueueRateLimit?.RateLimit?.RequestsPerSecond == 5));

        var partitions = await clients[1].WorkflowService.ListTaskQueuePartitionsAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue } });
        Assert.Equal([taskQueue, $"/_sys/{taskQueue}/1", $"/_sys/{taskQueue}/2", $"/_sys/{taskQueue}/3"], partitions.ActivityTaskQueuePartitions.Select(p => p.Key));
        var routing = _nodes[1].Engine.Routing;
        var ns = _nodes[0].Namespaces.All.Single(n => n.Name == "default").Id;
        Assert.Equal(
            Enumerable.Range(0, 4).Select(p => routing.Membership.AddressOf(routing.OwnerOfQueue(new(ns, taskQueue, Bastion.Engine.Matching.TaskCategory.Workflow, p)))),
            partitions.WorkflowTaskQueuePartitions.Select(p => p.OwnerHostName));
    }

    /// <summary>Children on other nodes' shards start, get their parent's signals, report back; the parent's close policy reaches its last child.</summary>
    /// <summary>
    /// A client call's audit record is written once, whichever node runs the call; a call sent on to the owner of its
    /// workflow (or a poll whose task is started there) has its record ride the transition it commits on that node —
    /// its shard's chain — as on one node, instead of a commit of its own on the node the client reached.
    /// </summary>
    [Fact]
    public async Task EveryCallsAuditRecord_IsWrittenOnce_AndRidesTheTransitionItCommitsOnTheOwner()
    {
        await SettledAsync(_nodes);
        var starter = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var workerClient = await TemporalClient.ConnectAsync(new(_nodes[1].Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<Greets>().AddAllActivities(typeof(Greeter), null));
        await worker.ExecuteAsync(async () =>
        {
            var runs = Enumerable.Range(0, 12).Select(i => starter.ExecuteWorkflowAsync((Greets wf) => wf.RunAsync($"n{i}"), new($"audited-{i}-{Guid.NewGuid():N}", taskQueue)));
            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(90));
        });

        var records = await AuditRecordsAsync();
        var duplicated = records.GroupBy(r => r.Record.LogId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicated.Count == 0, "records written twice: " + string.Join(", ", duplicated));
        var calls = records.Where(r => r.Record.Kind == Bastion.Security.Audit.AuditKinds.ApiCall).ToList();
        foreach (var operation in new[] { "StartWorkflowExecution", "RespondWorkflowTaskCompleted", "RespondActivityTaskCompleted" })
        {
            var ofOperation = calls.Where(r => r.Record.Operation.EndsWith("/" + operation, StringComparison.Ordinal)).ToList();
            Assert.True(ofOperation.Count >= 12, $"{operation}: {ofOperation.Count} records");
            Assert.All(ofOperation, r => Assert.StartsWith("shard/", r.Chain, StringComparison.Ordinal));
        }

        // Started through node A, most of the workflows live on the other nodes: their start records rode there.
        var startShards = calls.Where(r => r.Record.Operation.EndsWith("/StartWorkflowExecution", StringComparison.Ordinal))
            .Select(r => int.Parse(r.Chain["shard/".Length..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(startShards, shard => !_nodes[0].Engine.OwnsShard(shard));

        // Polls that took a task: their records rode the task's start on its run's owner, wherever the poll arrived.
        // (Workflow task polls: the activities here start eagerly, in their workflow task's completion, never polled.)
        Assert.Contains(calls, r => r.Record.Operation.EndsWith("/PollWorkflowTaskQueue", StringComparison.Ordinal) && r.Chain.StartsWith("shard/", StringComparison.Ordinal));
    }

    /// <summary>
    /// A call sent on to its workflow's owner, committed there, whose answer never reaches the node the client called
    /// (here the client goes away while the update-with-start waits for its update; a node dying after its commit is
    /// the same to the entry node): the record is in doubt, found in the owner's chain, and not written again — only
    /// the call's outcome is added.
    /// </summary>
    [Fact]
    public async Task ACallsRecord_IsWrittenOnce_WhenTheOwnersAnswerNeverComes()
    {
        await SettledAsync(_nodes);
        var (a, b) = (_nodes[0], _nodes[1]);
        var ns = a.Namespaces.All.Single(n => n.Name == "default").Id;
        string id;
        do
        {
            id = $"in-doubt-{Guid.NewGuid():N}";
        }
        while (!b.Engine.OwnsShard(a.Engine.ShardOf(ns, id)));

        var client = await TemporalClient.ConnectAsync(new(a.Address) { Namespace = "default" });
        var atOwner = await TemporalClient.ConnectAsync(new(b.Address) { Namespace = "default" });
        var request = new Temporalio.Api.WorkflowService.V1.ExecuteMultiOperationRequest
        {
            Namespace = "default",
            Operations =
            {
                new Temporalio.Api.WorkflowService.V1.ExecuteMultiOperationRequest.Types.Operation
                {
                    StartWorkflow = new() { Namespace = "default", WorkflowId = id, WorkflowType = new() { Name = "Unpolled" }, TaskQueue = new() { Name = ServerFixture.NewTaskQueue() }, RequestId = Guid.NewGuid().ToString() },
                },
                new Temporalio.Api.WorkflowService.V1.ExecuteMultiOperationRequest.Types.Operation
                {
                    UpdateWorkflow = new()
                    {
                        Namespace = "default",
                        WorkflowExecution = new() { WorkflowId = id },
                        WaitPolicy = new() { LifecycleStage = Temporalio.Api.Enums.V1.UpdateWorkflowExecutionLifecycleStage.Accepted },
                        Request = new() { Meta = new() { UpdateId = "never-accepted" }, Input = new() { Name = "add" } },
                    },
                },
            },
        };
        using var leave = new CancellationTokenSource();
        var call = client.WorkflowService.ExecuteMultiOperationAsync(request, new() { CancellationToken = leave.Token });

        // The owner committed the start (with the call's record) and waits for the update; the client goes away.
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await atOwner.GetWorkflowHandle(id).DescribeAsync();
                return true;
            }
            catch (Temporalio.Exceptions.RpcException e) when (e.Code == Temporalio.Exceptions.RpcException.StatusCode.NotFound)
            {
                return false;
            }
        }));
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => call);

        // The entry node writes what it has to after the call ended: the outcome.
        var ofCall = new List<(Bastion.Security.Audit.AuditRecord Record, string Chain)>();
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            ofCall = [.. (await AuditRecordsAsync()).Where(r => r.Record.Operation.EndsWith("/ExecuteMultiOperation", StringComparison.Ordinal))];
            return ofCall.Count >= 2;
        }));
        var record = Assert.Single(ofCall, r => r.Record.Kind == Bastion.Security.Audit.AuditKinds.ApiCall);
        Assert.StartsWith("shard/", record.Chain, StringComparison.Ordinal); // rode the start on the owner
        var outcome = Assert.Single(ofCall, r => r.Record.Kind == Bastion.Security.Audit.AuditKinds.ApiCallOutcome);
        Assert.Equal(record.Record.LogId, outcome.Record.Details["call_log_id"]);
        Assert.Equal((int)Grpc.Core.StatusCode.Cancelled, outcome.Record.Status);
    }

    private async Task<List<(Bastion.Security.Audit.AuditRecord Record, string Chain)>> AuditRecordsAsync()
    {
        var records = new List<(Bastion.Security.Audit.AuditRecord Record, string Chain)>();
        foreach (var chain in await _nodes[0].AuditStore.ListAuditChainsAsync(CancellationToken.None))
        {
            foreach (var stored in await _nodes[0].AuditStore.ReadAuditAsync(new Bastion.Storage.AuditQuery(chain.Chain, 0, 100_000), CancellationToken.None))
            {
                var (record, storedChain, _, _) = Bastion.Security.Audit.AuditJson.Parse(stored.Data);
                records.Add((record, storedChain));
            }
        }

        return records;
    }

    [Fact]
    public async Task WorkBetweenRuns_CrossesNodes()
    {
        await SettledAsync(_nodes);
        var client = await TemporalClient.ConnectAsync(new(_nodes[1].Address) { Namespace = "default" });
        var workerClient = await TemporalClient.ConnectAsync(new(_nodes[2].Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        var prefix = "family-" + Guid.NewGuid().ToString("N");
        using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<Family>().AddWorkflow<Child>());
        var result = await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync((Family f) => f.RunAsync(prefix), new(prefix, taskQueue)).WaitAsync(TimeSpan.FromSeconds(90)));

        Assert.Equal(string.Join(",", Enumerable.Range(0, 6).Select(i => $"{prefix}-child-{i}")), result);
        Assert.True(await Eventually.HoldsAsync(async () =>
            (await client.GetWorkflowHandle($"{prefix}-orphan").DescribeAsync()).Status == Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated,
            TimeSpan.FromSeconds(30)));
        var shards = Enumerable.Range(0, 6).Select(i => _nodes[0].Engine.ShardOf(_nodes[0].Namespaces.All.Single(n => n.Name == "default").Id, $"{prefix}-child-{i}")).ToHashSet();
        var owners = shards.Select(s => _nodes.Single(n => n.Engine.OwnsShard(s)).Engine.Routing.Self).ToHashSet();
        if (owners.Count > 1)
        {
            Assert.True(_nodes.Sum(n => n.ClusterServed.Operations) > 0, "no step between runs crossed nodes");
        }
    }

    /// <summary>
    /// A schedule runs on its shard's node; the runs of its actions fall on every node's shards: each starts there,
    /// completes, and the schedule sees it close (its running list empties, its recent actions carry the results).
    /// </summary>
    [Fact]
    public async Task AScheduleStartsRunsOnOtherNodes_AndSeesThemClose()
    {
        await SettledAsync(_nodes);
        var client = await TemporalClient.ConnectAsync(new(_nodes[0].Address) { Namespace = "default" });
        var workerClient = await TemporalClient.ConnectAsync(new(_nodes[1].Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        var scheduleId = "cluster-schedule-" + Guid.NewGuid().ToString("N");
        using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<Quick>());
        await worker.ExecuteAsync(async () =>
        {
            var handle = await client.CreateScheduleAsync(scheduleId, new Temporalio.Client.Schedules.Schedule(
                Temporalio.Client.Schedules.ScheduleActionStartWorkflow.Create((Quick q) => q.RunAsync(), new(scheduleId + "-run", taskQueue)),
                new Temporalio.Client.Schedules.ScheduleSpec { Intervals = [new(TimeSpan.FromHours(1))] })
            {
                State = new() { Paused = true },
            });
            for (var i = 0; i < 6; i++)
            {
                await handle.TriggerAsync(new() { Overlap = Temporalio.Api.Enums.V1.ScheduleOverlapPolicy.AllowAll });
                await Task.Delay(TimeSpan.FromSeconds(1.1)); // the run's id carries the second: each trigger its own id
            }

            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                var info = (await handle.DescribeAsync()).Info;
                return info.NumActions == 6 && info.RunningActions.Count == 0
                    && info.RecentActions.All(a => a.Action is Temporalio.Client.Schedules.ScheduleActionExecutionStartWorkflow { });
            }, TimeSpan.FromSeconds(60)), "the schedule did not see its six runs start and close");
            var runs = (await handle.DescribeAsync()).Info.RecentActions.Select(a => ((Temporalio.Client.Schedules.ScheduleActionExecutionStartWorkflow)a.Action).WorkflowId).ToList();
            Assert.Equal(6, runs.Distinct().Count());
            foreach (var run in runs)
            {
                Assert.Equal("done", await client.GetWorkflowHandle(run).GetResultAsync<string>());
            }

            var ns = _nodes[0].Namespaces.All.Single(n => n.Name == "default").Id;
            var scheduleOwner = _nodes.Single(n => n.Engine.OwnsShard(n.Engine.ShardOf(ns, scheduleId))).Engine.Routing.Self;
            if (runs.Any(r => _nodes.Single(n => n.Engine.OwnsShard(n.Engine.ShardOf(ns, r))).Engine.Routing.Self != scheduleOwner))
            {
                Assert.True(_nodes.Sum(n => n.ClusterServed.Operations) > 0, "no run of the schedule started on another node");
            }
        });
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
