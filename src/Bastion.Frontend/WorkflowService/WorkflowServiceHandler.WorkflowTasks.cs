using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

internal sealed partial class WorkflowServiceHandler
{
    public async Task<PollWorkflowTaskQueueResponse> PollWorkflowTaskQueue(PollWorkflowTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var queue = new QueueKey(ns.Id, Validation.RequireId(request.TaskQueue?.Name, "TaskQueue"), TaskCategory.Workflow);
        if (request.TaskQueue!.Kind != TaskQueueKind.Sticky)
        {
            queue = engine.Routing.Place(await RegisterVersionedPoller(queue, request.DeploymentOptions, request.Identity).ConfigureAwait(false));
        }

        var response = await PollWorkflowPartitionAsync(queue, request, context).ConfigureAwait(false);
        PollMetrics.Record(ns.FullName, queue, request.TaskQueue.Kind, response?.ScheduledTime, response?.StartedTime);
        return response ?? new PollWorkflowTaskQueueResponse();
    }

    /// <summary>A poll on one partition of a workflow task queue: a worker's, or one another node's partition sent on to this node's root.</summary>
    internal Task<PollWorkflowTaskQueueResponse?> PollWorkflowPartitionAsync(QueueKey queue, PollWorkflowTaskQueueRequest request, ServerCallContext context) =>
        LongPollAsync(queue, request, request.Identity, context, item => StartWorkflowQueueItemAsync(item, request, queue, context.CancellationToken));

    /// <summary>Starts an item taken from a workflow task queue, on the node that owns its run (here, or the cluster's <c>StartTask</c>).</summary>
    internal Task<PollWorkflowTaskQueueResponse?> StartWorkflowQueueItemAsync(MatchItem item, PollWorkflowTaskQueueRequest request, QueueKey queue, CancellationToken cancellationToken) => item switch
    {
        WorkflowTaskItem task => engine.RecordWorkflowTaskStartedAsync(task, request, queue, cancellationToken),
        QueryTaskItem query => engine.StartQueryTaskAsync(query, queue),
        _ => throw new InvalidOperationException($"Unexpected item {item.GetType().Name} on a workflow task queue."),
    };

    /// <summary>
    /// Waits for an item on <paramref name="queue"/> and starts it — here, or, in a cluster, on the node that owns its run
    /// (the poll is sent there with the item); a stale item (its task is gone) is skipped. Null when the long poll ends
    /// empty. An item taken by a poller that left before it started, or that the run's node could not be reached for,
    /// goes back. A partition other than the root with nothing waiting sends one poll at a time on to wait at the root
    /// (<see cref="MatchingEngine"/>); its other polls, and that one when the root's node cannot be reached, wait here.
    /// A poll on a queue another node serves (sent here on an older view of the cluster) waits one heartbeat at most.
    /// </summary>
    private async Task<TResponse?> LongPollAsync<TResponse>(QueueKey queue, IMessage request, string identity, ServerCallContext context, Func<MatchItem, Task<TResponse?>> start)
        where TResponse : class, IMessage<TResponse>, new()
    {
        draining.RefuseNewPoll();
        var pollStarted = Now;
        var deadline = pollStarted + engine.Routing.PollWaitHere(engine.Routing.OwnerOfQueue(queue), Validation.LongPollBudget(context, pollStarted, options.MaxLongPoll));
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, draining.Token); // a stopping server answers empty
        var mayForward = !queue.IsRoot;
        while (deadline - Now is { } remaining && remaining > TimeSpan.Zero)
        {
            var item = queue.IsRoot ? null : engine.Matching.TryTake(queue, identity);
            if (item is null && mayForward && engine.Matching.TryBeginForward(queue))
            {
                mayForward = false;
                try
                {
                    return await PollAtRootAsync(queue.Root, request, identity, deadline, context, start).ConfigureAwait(false);
                }
                catch (Exception e) when (e is RpcException { StatusCode: StatusCode.Unavailable } || e is ServiceException { Kind: ErrorKind.Unavailable })
                {
                    // The root's node is moving: wait here for the rest of the poll.
                }
                finally
                {
                    engine.Matching.EndForward(queue);
                }

                continue;
            }

            item ??= await engine.Matching.PollAsync(queue, identity, remaining, ended.Token).ConfigureAwait(false);
            if (item is null)
            {
                return null;
            }

            if (item is StartedWorkflowTaskItem started)
            {
                // Started for this poll in the commit that scheduled it.
                return WithScalingDecision((TResponse)(IMessage)started.Response, queue, pollStarted);
            }

            try
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                var owner = engine.Routing.OwnerOfShard(engine.ShardOf(item.Key.NamespaceId, item.Key.WorkflowId));
                var response = engine.Routing.IsSelf(owner)
                    ? await start(item).ConfigureAwait(false)
                    : await StartRemotelyAsync<TResponse>(owner, queue, item, request, context.CancellationToken).ConfigureAwait(false);
                if (response is not null)
                {
                    return WithScalingDecision(response, queue, pollStarted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException || (e is RpcException rpc && rpc.StatusCode == StatusCode.Unavailable))
            {
                engine.Matching.Add(queue, item, front: true);
                throw;
            }
        }

        return null;
    }

    /// <summary>
    /// The answer with the partition's suggestion for the worker's number of polls, as Temporal's matching attaches it to
    /// a poll that got a task (an SDK whose pollers autoscale follows it).
    /// </summary>
    private TResponse WithScalingDecision<TResponse>(TResponse response, QueueKey queue, DateTime pollStarted)
        where TResponse : class, IMessage<TResponse>
    {
        var decision = ScalingDecisionProto(engine.Matching.ScalingDecision(queue, pollStarted));
        switch (response)
        {
            case PollWorkflowTaskQueueResponse workflowTask:
                workflowTask.PollerScalingDecision = decision;
                break;
            case PollActivityTaskQueueResponse activityTask:
                activityTask.PollerScalingDecision = decision;
                break;
        }

        return response;
    }

    /// <summary>A poller scaling decision (+1, -1) as poll answers carry it; null for none.</summary>
    private static Temporalio.Api.TaskQueue.V1.PollerScalingDecision? ScalingDecisionProto(int? delta) =>
        delta is { } suggestion ? new() { PollRequestDeltaSuggestion = suggestion } : null;

    /// <summary>A partition's poll sent on to the queue's root: here, or on the root's node (which starts what it takes).</summary>
    private async Task<TResponse?> PollAtRootAsync<TResponse>(QueueKey root, IMessage request, string identity, DateTime deadline, ServerCallContext context, Func<MatchItem, Task<TResponse?>> start)
        where TResponse : class, IMessage<TResponse>, new()
    {
        var owner = engine.Routing.OwnerOfQueue(root);
        if (engine.Routing.IsSelf(owner))
        {
            return await LongPollAsync(root, request, identity, context, start).ConfigureAwait(false);
        }

        // The root's node keeps its usual second of margin before this deadline, so it answers before this poll must.
        var bytes = await engine.Routing.Transport!.PollRootAsync(owner, root, request.ToByteArray(), deadline + TimeSpan.FromSeconds(1), context.CancellationToken).ConfigureAwait(false);
        return bytes is null ? null : new MessageParser<TResponse>(() => new TResponse()).ParseFrom(bytes);
    }

    private async Task<TResponse?> StartRemotelyAsync<TResponse>(string owner, QueueKey queue, MatchItem item, IMessage request, CancellationToken cancellationToken)
        where TResponse : class, IMessage<TResponse>, new()
    {
        var bytes = await engine.Routing.Transport!.StartTaskAsync(owner, queue, item, request.ToByteArray(), cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : new MessageParser<TResponse>(() => new TResponse()).ParseFrom(bytes);
    }

    public async Task<RespondWorkflowTaskCompletedResponse> RespondWorkflowTaskCompleted(RespondWorkflowTaskCompletedRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var token = TaskToken.Decode(request.TaskToken, ns.Id, TaskTokenKind.WorkflowTask);
        return await engine.RespondWorkflowTaskCompletedAsync(token, request, new QueueKey(ns.Id, string.Empty, TaskCategory.Workflow)).ConfigureAwait(false);
    }

    public async Task<RespondWorkflowTaskFailedResponse> RespondWorkflowTaskFailed(RespondWorkflowTaskFailedRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var token = TaskToken.Decode(request.TaskToken, ns.Id, TaskTokenKind.WorkflowTask);
        Validation.RequireSize(request.Failure, "Failure", options.MaxPayloadBytes);
        return await engine.RespondWorkflowTaskFailedAsync(token, request).ConfigureAwait(false);
    }

    public Task<RespondQueryTaskCompletedResponse> RespondQueryTaskCompleted(RespondQueryTaskCompletedRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var token = TaskToken.Decode(request.TaskToken, ns.Id, TaskTokenKind.QueryTask);
        Validation.RequireSize(request.QueryResult, "QueryResult", options.MaxPayloadBytes);
        engine.RespondQueryTask(token, request);
        return Task.FromResult(new RespondQueryTaskCompletedResponse());
    }

    public async Task<ResetStickyTaskQueueResponse> ResetStickyTaskQueue(ResetStickyTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = await engine.ResolveAsync(ns.Id, request.Execution?.WorkflowId ?? string.Empty, request.Execution?.RunId).ConfigureAwait(false);
        await engine.ResetStickyAsync(key).ConfigureAwait(false);
        return new ResetStickyTaskQueueResponse();
    }

    public async Task<DescribeTaskQueueResponse> DescribeTaskQueue(DescribeTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var name = Validation.RequireId(request.TaskQueue?.Name, "TaskQueue");
#pragma warning disable CS0612 // The pre-versioning form of the request is what SDKs and the CLI send by default.
        var type = request.TaskQueueType == Temporalio.Api.Enums.V1.TaskQueueType.Activity ? TaskCategory.Activity : TaskCategory.Workflow;
#pragma warning restore CS0612
        var queue = new QueueKey(ns.Id, name, type);
        var pollers = engine.Matching.RecentPollersOfAllPartitions(queue, MatchingEngine.PollerWindow);
        foreach (var node in engine.Routing.OwnersOfPartitions(queue).Where(n => !engine.Routing.IsSelf(n)))
        {
            try
            {
                pollers.AddRange(await engine.Routing.Transport!.RecentPollersAsync(node, queue, context.CancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is RpcException { StatusCode: StatusCode.Unavailable } || e is ServiceException { Kind: ErrorKind.Unavailable })
            {
                // A node that is moving: its partitions' pollers are back on the next call.
            }
        }

        var response = new DescribeTaskQueueResponse();
        if (engine.Deployments.RoutingOf(ns.Id, name) is { } routing)
        {
            // The queue's routing config (Temporal's TaskQueueVersioningInfo): its deployment's current and ramping versions.
            response.VersioningInfo = new Temporalio.Api.TaskQueue.V1.TaskQueueVersioningInfo
            {
                CurrentDeploymentVersion = routing.CurrentBuildId is { } current ? new Engine.Deployments.DeploymentVersionId(routing.DeploymentName, current).ToProto() : null,
                RampingDeploymentVersion = routing is { HasRamping: true, RampingBuildId: { } ramping } ? new Engine.Deployments.DeploymentVersionId(routing.DeploymentName, ramping).ToProto() : null,
                RampingVersionPercentage = routing.HasRamping ? routing.RampPercentage : 0,
            };
        }

        if (request.ReportConfig)
        {
            response.Config = queueConfigs.Get(ns.Id, name, request.TaskQueueType); // none set: absent, as Temporal's
        }

        if (engine.Matching.EffectiveRate(queue) is { } effective)
        {
            // Set only when the API or a worker limits the queue: Bastion has no system dispatch limit to report.
            response.EffectiveRateLimit = new DescribeTaskQueueResponse.Types.EffectiveRateLimit { RequestsPerSecond = (float)effective.Rate, RateLimitSource = effective.Source };
        }

        if (request.ReportStats)
        {
            // The backlog this node holds, in all and per priority key (Temporal's stats_by_priority_key, counts only);
            // its age and the add and dispatch rates (over the last ten seconds) in all.
            var byPriority = engine.Matching.BacklogByPriority(queue);
            var (backlogAge, addRate, dispatchRate) = engine.Matching.Stats(queue);
            response.Stats = new Temporalio.Api.TaskQueue.V1.TaskQueueStats
            {
                ApproximateBacklogCount = byPriority.Values.Sum(),
                ApproximateBacklogAge = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(backlogAge),
                TasksAddRate = (float)addRate,
                TasksDispatchRate = (float)dispatchRate,
            };
            foreach (var (priorityKey, count) in byPriority)
            {
                response.StatsByPriorityKey[priorityKey] = new Temporalio.Api.TaskQueue.V1.TaskQueueStats { ApproximateBacklogCount = count };
            }
        }

        foreach (var poller in pollers.GroupBy(p => p.Identity, StringComparer.Ordinal).Select(g => (Identity: g.Key, LastAccess: g.Max(p => p.LastAccess))).OrderBy(p => p.Identity, StringComparer.Ordinal))
        {
            response.Pollers.Add(new Temporalio.Api.TaskQueue.V1.PollerInfo
            {
                Identity = poller.Identity,
                LastAccessTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(poller.LastAccess),
            });
        }

        return response;
    }

    public async Task<ShutdownWorkerResponse> ShutdownWorker(ShutdownWorkerRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        if (request.WorkerHeartbeat is { } final && engine.Routing.IsSelf(engine.Routing.OwnerOfQueue(WorkerRegistryQueue(ns.Id))))
        {
            // The worker's last heartbeat (Shutdown): it leaves the registry now. In a cluster, when another node holds
            // the namespace's registry, the worker leaves it when its entry expires.
            engine.Matching.Workers.Record(ns.Id, [final]);
        }

        if (!string.IsNullOrEmpty(request.StickyTaskQueue))
        {
            await engine.ShutdownStickyQueueAsync(ns.Id, request.StickyTaskQueue).ConfigureAwait(false);
        }

        return new ShutdownWorkerResponse();
    }
}
