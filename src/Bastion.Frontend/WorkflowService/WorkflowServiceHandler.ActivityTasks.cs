using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

internal sealed partial class WorkflowServiceHandler
{
    public async Task<PollActivityTaskQueueResponse> PollActivityTaskQueue(PollActivityTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var queue = engine.Routing.Place(await RegisterVersionedPoller(
            new QueueKey(ns.Id, Validation.RequireId(request.TaskQueue?.Name, "TaskQueue"), TaskCategory.Activity), request.DeploymentOptions, request.Identity).ConfigureAwait(false));
        engine.Matching.WorkerRatePolled(queue, request.TaskQueueMetadata?.MaxTasksPerSecond); // the worker's MaxTaskQueueActivitiesPerSecond
        var response = await PollActivityPartitionAsync(queue, request, context).ConfigureAwait(false);
        PollMetrics.Record(ns.FullName, queue, request.TaskQueue!.Kind, response?.CurrentAttemptScheduledTime, response?.StartedTime);
        return response ?? new PollActivityTaskQueueResponse();
    }

    /// <summary>A poll on one partition of an activity task queue: a worker's, or one another node's partition sent on to this node's root.</summary>
    internal Task<PollActivityTaskQueueResponse?> PollActivityPartitionAsync(QueueKey queue, PollActivityTaskQueueRequest request, ServerCallContext context) =>
        LongPollAsync(queue, request, request.Identity, context, item => StartActivityQueueItemAsync(item, request, context.CancellationToken));

    /// <summary>Starts an item taken from an activity task queue, on the node that owns its run (here, or the cluster's <c>StartTask</c>).</summary>
    internal Task<PollActivityTaskQueueResponse?> StartActivityQueueItemAsync(MatchItem item, PollActivityTaskQueueRequest request, CancellationToken cancellationToken) =>
        item is ActivityTaskItem activity
            ? engine.RecordActivityTaskStartedAsync(activity, request, cancellationToken)
            : throw new InvalidOperationException($"Unexpected item {item.GetType().Name} on an activity task queue.");

    public async Task<RecordActivityTaskHeartbeatResponse> RecordActivityTaskHeartbeat(RecordActivityTaskHeartbeatRequest request, ServerCallContext context)
    {
        var target = ActivityByToken(request.TaskToken, context);
        Validation.RequireSize(request.Details, "Details", options.MaxPayloadBytes);
        return await engine.HeartbeatActivityAsync(target, request.Details).ConfigureAwait(false);
    }

    public async Task<RecordActivityTaskHeartbeatByIdResponse> RecordActivityTaskHeartbeatById(RecordActivityTaskHeartbeatByIdRequest request, ServerCallContext context)
    {
        var target = await ActivityByIdAsync(request.WorkflowId, request.RunId, request.ActivityId, context).ConfigureAwait(false);
        Validation.RequireSize(request.Details, "Details", options.MaxPayloadBytes);
        var response = await engine.HeartbeatActivityAsync(target, request.Details).ConfigureAwait(false);
        return new RecordActivityTaskHeartbeatByIdResponse { CancelRequested = response.CancelRequested, ActivityPaused = response.ActivityPaused, ActivityReset = response.ActivityReset };
    }

    public async Task<RespondActivityTaskCompletedResponse> RespondActivityTaskCompleted(RespondActivityTaskCompletedRequest request, ServerCallContext context)
    {
        var target = ActivityByToken(request.TaskToken, context);
        Validation.RequireSize(request.Result, "Result", options.MaxPayloadBytes);
        await engine.CompleteActivityAsync(target, request.Result, request.Identity).ConfigureAwait(false);
        return new RespondActivityTaskCompletedResponse();
    }

    public async Task<RespondActivityTaskCompletedByIdResponse> RespondActivityTaskCompletedById(RespondActivityTaskCompletedByIdRequest request, ServerCallContext context)
    {
        var target = await ActivityByIdAsync(request.WorkflowId, request.RunId, request.ActivityId, context).ConfigureAwait(false);
        Validation.RequireSize(request.Result, "Result", options.MaxPayloadBytes);
        await engine.CompleteActivityAsync(target, request.Result, request.Identity).ConfigureAwait(false);
        return new RespondActivityTaskCompletedByIdResponse();
    }

    public async Task<RespondActivityTaskFailedResponse> RespondActivityTaskFailed(RespondActivityTaskFailedRequest request, ServerCallContext context)
    {
        var target = ActivityByToken(request.TaskToken, context);
        Validation.RequireSize(request.Failure, "Failure", options.MaxPayloadBytes);
        await engine.FailActivityAsync(target, request.Failure, request.LastHeartbeatDetails, request.Identity).ConfigureAwait(false);
        return new RespondActivityTaskFailedResponse();
    }

    public async Task<RespondActivityTaskFailedByIdResponse> RespondActivityTaskFailedById(RespondActivityTaskFailedByIdRequest request, ServerCallContext context)
    {
        var target = await ActivityByIdAsync(request.WorkflowId, request.RunId, request.ActivityId, context).ConfigureAwait(false);
        Validation.RequireSize(request.Failure, "Failure", options.MaxPayloadBytes);
        await engine.FailActivityAsync(target, request.Failure, request.LastHeartbeatDetails, request.Identity).ConfigureAwait(false);
        return new RespondActivityTaskFailedByIdResponse();
    }

    public async Task<RespondActivityTaskCanceledResponse> RespondActivityTaskCanceled(RespondActivityTaskCanceledRequest request, ServerCallContext context)
    {
        var target = ActivityByToken(request.TaskToken, context);
        Validation.RequireSize(request.Details, "Details", options.MaxPayloadBytes);
        await engine.CancelActivityAsync(target, request.Details, request.Identity).ConfigureAwait(false);
        return new RespondActivityTaskCanceledResponse();
    }

    public async Task<RespondActivityTaskCanceledByIdResponse> RespondActivityTaskCanceledById(RespondActivityTaskCanceledByIdRequest request, ServerCallContext context)
    {
        var target = await ActivityByIdAsync(request.WorkflowId, request.RunId, request.ActivityId, context).ConfigureAwait(false);
        Validation.RequireSize(request.Details, "Details", options.MaxPayloadBytes);
        await engine.CancelActivityAsync(target, request.Details, request.Identity).ConfigureAwait(false);
        return new RespondActivityTaskCanceledByIdResponse();
    }

    private static HistoryEngine.ActivityRef ActivityByToken(Google.Protobuf.ByteString token, ServerCallContext context) =>
        HistoryEngine.ActivityRef.From(TaskToken.Decode(token, NamespaceOf(context).Id, TaskTokenKind.ActivityTask));

    private Task<HistoryEngine.ActivityRef> ActivityByIdAsync(string workflowId, string runId, string activityId, ServerCallContext context) =>
        engine.ResolveActivityAsync(NamespaceOf(context).Id, workflowId, runId, activityId);
}
