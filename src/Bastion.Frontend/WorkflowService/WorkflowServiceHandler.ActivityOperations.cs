using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Common.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>Operator actions on a workflow's pending activities (issue 21): pause, unpause, reset, update options.</summary>
internal sealed partial class WorkflowServiceHandler
{
    public async Task<PauseActivityResponse> PauseActivity(PauseActivityRequest request, ServerCallContext context)
    {
        var key = await ActivityRunAsync(request.Execution, context).ConfigureAwait(false);
        var selector = Selector(
            request.ActivityCase == PauseActivityRequest.ActivityOneofCase.Id ? request.Id : null,
            request.ActivityCase == PauseActivityRequest.ActivityOneofCase.Type ? request.Type : null,
            all: false);
        var pause = new PauseInfo { Identity = request.Identity, Reason = request.Reason, RequestId = request.RequestId };
        await engine.PauseActivityAsync(key, selector, pause).ConfigureAwait(false);
        return new PauseActivityResponse();
    }

    public async Task<UnpauseActivityResponse> UnpauseActivity(UnpauseActivityRequest request, ServerCallContext context)
    {
        var key = await ActivityRunAsync(request.Execution, context).ConfigureAwait(false);
        var selector = Selector(
            request.ActivityCase == UnpauseActivityRequest.ActivityOneofCase.Id ? request.Id : null,
            request.ActivityCase == UnpauseActivityRequest.ActivityOneofCase.Type ? request.Type : null,
            request.ActivityCase == UnpauseActivityRequest.ActivityOneofCase.UnpauseAll && request.UnpauseAll);
        Validation.RequireNonNegative(request.Jitter, "Jitter");
        await engine.UnpauseActivityAsync(key, selector, request.ResetAttempts, request.ResetHeartbeat, JitterOf(request.Jitter)).ConfigureAwait(false);
        return new UnpauseActivityResponse();
    }

    public async Task<ResetActivityResponse> ResetActivity(ResetActivityRequest request, ServerCallContext context)
    {
        var key = await ActivityRunAsync(request.Execution, context).ConfigureAwait(false);
        var selector = Selector(
            request.ActivityCase == ResetActivityRequest.ActivityOneofCase.Id ? request.Id : null,
            request.ActivityCase == ResetActivityRequest.ActivityOneofCase.Type ? request.Type : null,
            request.ActivityCase == ResetActivityRequest.ActivityOneofCase.MatchAll && request.MatchAll);
        Validation.RequireNonNegative(request.Jitter, "Jitter");
        await engine.ResetActivityAsync(key, selector, request.ResetHeartbeat, request.KeepPaused, request.RestoreOriginalOptions, JitterOf(request.Jitter))
            .ConfigureAwait(false);
        return new ResetActivityResponse();
    }

    public async Task<UpdateActivityOptionsResponse> UpdateActivityOptions(UpdateActivityOptionsRequest request, ServerCallContext context)
    {
        var key = await ActivityRunAsync(request.Execution, context).ConfigureAwait(false);
        var selector = Selector(
            request.ActivityCase == UpdateActivityOptionsRequest.ActivityOneofCase.Id ? request.Id : null,
            request.ActivityCase == UpdateActivityOptionsRequest.ActivityOneofCase.Type ? request.Type : null,
            request.ActivityCase == UpdateActivityOptionsRequest.ActivityOneofCase.MatchAll && request.MatchAll);

        RequireOptionsUpdate(request.ActivityOptions, request.UpdateMask, request.RestoreOriginal);
        var options = await engine.UpdateActivityOptionsAsync(key, selector, request.ActivityOptions, request.UpdateMask?.Paths, request.RestoreOriginal).ConfigureAwait(false);
        return new UpdateActivityOptionsResponse { ActivityOptions = options };
    }

    /// <summary>Temporal's checks of an options update and their texts, in its order.</summary>
    private static void RequireOptionsUpdate(Temporalio.Api.Activity.V1.ActivityOptions? options, FieldMask? mask, bool restoreOriginal)
    {
        if (restoreOriginal && mask?.Paths is { Count: > 0 })
        {
            throw ServiceException.InvalidArgument("Both UpdateMask and RestoreOriginal are provided");
        }

        if (!restoreOriginal)
        {
            if (options is null)
            {
                throw ServiceException.InvalidArgument("ActivityOptions are not provided");
            }

            if (mask is null)
            {
                throw ServiceException.InvalidArgument("UpdateMask is not provided");
            }
        }
    }

    /// <summary>The run the request's execution names (its current run when no run id is given).</summary>
    private Task<WorkflowKey> ActivityRunAsync(WorkflowExecution? execution, ServerCallContext context) =>
        engine.ResolveAsync(NamespaceOf(context).Id, Validation.RequireId(execution?.WorkflowId, "WorkflowId"), execution?.RunId);

    private static HistoryEngine.ActivitySelector Selector(string? id, string? type, bool all)
    {
        if (string.IsNullOrEmpty(id) && string.IsNullOrEmpty(type) && !all)
        {
            throw ServiceException.InvalidArgument("Either Activity.Id or Activity.Type should be set on request.");
        }

        return new HistoryEngine.ActivitySelector(string.IsNullOrEmpty(id) ? null : id, string.IsNullOrEmpty(type) ? null : type, all);
    }

    private static TimeSpan JitterOf(Duration? jitter) => jitter?.ToTimeSpan() ?? TimeSpan.Zero;
}
