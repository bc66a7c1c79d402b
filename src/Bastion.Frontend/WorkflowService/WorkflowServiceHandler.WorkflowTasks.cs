using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

internal sealed partial class WorkflowServiceHandler
{
    public async Task<PollWorkflowTaskQueueResponse> PollWorkflowTaskQueue(PollWorkflowTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var queue = new QueueKey(ns.Id, Validation.RequireId(request.TaskQueue?.Name, "TaskQueue"), TaskCategory.Workflow);
        var response = await LongPollAsync(queue, request, request.Identity, context, item => StartWorkflowQueueItemAsync(item, request, queue, context.CancellationToken)).ConfigureAwait(false);
        PollMetrics.Record(ns.FullName, queue, request.TaskQueue!.Kind, response?.ScheduledTime, response?.StartedTime);
        return response ?? new PollWorkflowTaskQueueResponse();
    }

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
    /// goes back.
    /// </summary>
    private async Task<TResponse?> LongPollAsync<TResponse>(QueueKey queue, IMessage request, string identity, ServerCallContext context, Func<MatchItem, Task<TResponse?>> start)
        where TResponse : class, IMessage<TResponse>, new()
    {
        draining.RefuseNewPoll();
        var deadline = Now + Validation.LongPollBudget(context, Now, options.MaxLongPoll);
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, draining.Token); // a stopping server answers empty
        while (deadline - Now is { } remaining && remaining > TimeSpan.Zero)
        {
            var item = await engine.Matching.PollAsync(queue, identity, remaining, ended.Token).ConfigureAwait(false);
            if (item is null)
            {
                return null;
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
                    return response;
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

    public Task<DescribeTaskQueueResponse> DescribeTaskQueue(DescribeTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var name = Validation.RequireId(request.TaskQueue?.Name, "TaskQueue");
#pragma warning disable CS0612 // The pre-versioning form of the request is what SDKs and the CLI send by default.
        var type = request.TaskQueueType == Temporalio.Api.Enums.V1.TaskQueueType.Activity ? TaskCategory.Activity : TaskCategory.Workflow;
#pragma warning restore CS0612
        var response = new DescribeTaskQueueResponse();
        foreach (var (identity, lastAccess) in engine.Matching.RecentPollers(new QueueKey(ns.Id, name, type), TimeSpan.FromMinutes(5)))
        {
            response.Pollers.Add(new Temporalio.Api.TaskQueue.V1.PollerInfo
            {
                Identity = identity,
                LastAccessTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(lastAccess),
            });
        }

        return Task.FromResult(response);
    }

    public async Task<ShutdownWorkerResponse> ShutdownWorker(ShutdownWorkerRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        if (!string.IsNullOrEmpty(request.StickyTaskQueue))
        {
            await engine.ShutdownStickyQueueAsync(ns.Id, request.StickyTaskQueue).ConfigureAwait(false);
        }

        return new ShutdownWorkerResponse();
    }
}
