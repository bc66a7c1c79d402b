using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// The *ActivityExecution forms of the activity operations (issue 21): with a workflow id they act on that workflow's
/// activity, without one on the standalone activity of that id. Both go through the engine's one implementation of
/// pause, unpause, reset and update options (HistoryEngine.ActivityOperations), which acts on a run's activity either way.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    public async Task<PauseActivityExecutionResponse> PauseActivityExecution(PauseActivityExecutionRequest request, ServerCallContext context)
    {
        var (key, selector) = await ActivityExecutionAsync(request.WorkflowId, request.ActivityId, request.RunId, request.Identity, context).ConfigureAwait(false);
        var pause = new PauseInfo { Identity = request.Identity, Reason = request.Reason, RequestId = RequestIdOf(request.RequestId) };
        await engine.PauseActivityAsync(key, selector, pause).ConfigureAwait(false);
        return new PauseActivityExecutionResponse();
    }

    public async Task<UnpauseActivityExecutionResponse> UnpauseActivityExecution(UnpauseActivityExecutionRequest request, ServerCallContext context)
    {
        RequestIdOf(request.RequestId);
        var (key, selector) = await ActivityExecutionAsync(request.WorkflowId, request.ActivityId, request.RunId, request.Identity, context).ConfigureAwait(false);
        Validation.RequireNonNegative(request.Jitter, "Jitter");
        await engine.UnpauseActivityAsync(key, selector, resetAttempts: false, resetHeartbeat: false, JitterOf(request.Jitter)).ConfigureAwait(false);
        return new UnpauseActivityExecutionResponse();
    }

    public async Task<ResetActivityExecutionResponse> ResetActivityExecution(ResetActivityExecutionRequest request, ServerCallContext context)
    {
        RequestIdOf(request.RequestId);
        var (key, selector) = await ActivityExecutionAsync(request.WorkflowId, request.ActivityId, request.RunId, request.Identity, context).ConfigureAwait(false);
        Validation.RequireNonNegative(request.Jitter, "Jitter");
        await engine.ResetActivityAsync(key, selector, request.ResetHeartbeat, request.KeepPaused, request.RestoreOriginalOptions, JitterOf(request.Jitter))
            .ConfigureAwait(false);
        return new ResetActivityExecutionResponse();
    }

    public async Task<UpdateActivityExecutionOptionsResponse> UpdateActivityExecutionOptions(UpdateActivityExecutionOptionsRequest request, ServerCallContext context)
    {
        RequestIdOf(request.RequestId);
        var (key, selector) = await ActivityExecutionAsync(request.WorkflowId, request.ActivityId, request.RunId, request.Identity, context).ConfigureAwait(false);
        RequireOptionsUpdate(request.ActivityOptions, request.UpdateMask, request.RestoreOriginal);
        if (!request.RestoreOriginal && request.UpdateMask.Paths.Count == 0)
        {
            throw ServiceException.InvalidArgument("UpdateMask must specify at least one path");
        }

        var options = await engine.UpdateActivityOptionsAsync(key, selector, request.ActivityOptions, request.UpdateMask?.Paths, request.RestoreOriginal).ConfigureAwait(false);
        return new UpdateActivityExecutionOptionsResponse { ActivityOptions = options };
    }

    /// <summary>
    /// The run and activity a request names (Temporal's checks and texts): a workflow's activity by id, or with no
    /// workflow id the standalone activity (its latest run when no run id is given).
    /// </summary>
    private async Task<(WorkflowKey Key, HistoryEngine.ActivitySelector Selector)> ActivityExecutionAsync(
        string workflowId, string activityId, string runId, string identity, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(activityId))
        {
            throw ServiceException.InvalidArgument("activity ID is required");
        }

        if (activityId.Length > Validation.MaxIdLength)
        {
            throw ServiceException.InvalidArgument($"activity ID exceeds length limit. Length={activityId.Length} Limit={Validation.MaxIdLength}");
        }

        if (identity.Length > Validation.MaxIdLength)
        {
            throw ServiceException.InvalidArgument($"identity exceeds length limit. Length={identity.Length} Limit={Validation.MaxIdLength}");
        }

        if (!string.IsNullOrEmpty(runId) && !Guid.TryParse(runId, out _))
        {
            throw ServiceException.InvalidArgument("invalid run id: must be a valid UUID");
        }

        var namespaceId = NamespaceOf(context).Id;
        var key = string.IsNullOrEmpty(workflowId)
            ? await engine.ResolveStandaloneAsync(namespaceId, activityId, runId).ConfigureAwait(false)
            : await engine.ResolveAsync(namespaceId, Validation.RequireId(workflowId, "WorkflowId"), runId).ConfigureAwait(false);
        return (key, new HistoryEngine.ActivitySelector(activityId, null, All: false));
    }

    /// <summary>The request id, as Temporal normalizes it: a new one when none is given; at most the id length limit.</summary>
    private static string RequestIdOf(string requestId) => requestId.Length > Validation.MaxIdLength
        ? throw ServiceException.InvalidArgument($"request ID exceeds length limit. Length={requestId.Length} Limit={Validation.MaxIdLength}")
        : string.IsNullOrEmpty(requestId) ? Guid.NewGuid().ToString() : requestId;
}
