using Bastion.Engine.Errors;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>PauseWorkflowExecution and UnpauseWorkflowExecution (issue 21): see HistoryEngine.WorkflowPause.</summary>
internal sealed partial class WorkflowServiceHandler
{
    public async Task<PauseWorkflowExecutionResponse> PauseWorkflowExecution(PauseWorkflowExecutionRequest request, ServerCallContext context)
    {
        RequirePauseTexts(request.Reason, request.RequestId, request.Identity);
        var key = await engine.ResolveAsync(NamespaceOf(context).Id, Validation.RequireId(request.WorkflowId, "WorkflowId"), request.RunId).ConfigureAwait(false);
        await engine.PauseWorkflowAsync(key, request.Identity, request.Reason, request.RequestId).ConfigureAwait(false);
        return new PauseWorkflowExecutionResponse();
    }

    public async Task<UnpauseWorkflowExecutionResponse> UnpauseWorkflowExecution(UnpauseWorkflowExecutionRequest request, ServerCallContext context)
    {
        RequirePauseTexts(request.Reason, request.RequestId, request.Identity);
        var key = await engine.ResolveAsync(NamespaceOf(context).Id, Validation.RequireId(request.WorkflowId, "WorkflowId"), request.RunId).ConfigureAwait(false);
        await engine.UnpauseWorkflowAsync(key, request.Identity, request.Reason, request.RequestId).ConfigureAwait(false);
        return new UnpauseWorkflowExecutionResponse();
    }

    /// <summary>Temporal's limits on the pause requests' texts (its id length limit), with its messages.</summary>
    private static void RequirePauseTexts(string reason, string requestId, string identity)
    {
        foreach (var (value, name) in new[] { (reason, "reason"), (requestId, "request id"), (identity, "identity") })
        {
            if (value.Length > Validation.MaxIdLength)
            {
                throw ServiceException.InvalidArgument($"{name} is too long.");
            }
        }
    }
}
