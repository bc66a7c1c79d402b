using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Nexus;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// Standalone Nexus operations (issue 19): started by a client rather than a workflow, then described, polled for
/// their outcome, listed, counted, canceled, terminated and deleted. The engine keeps each as a run of its own
/// (<c>HistoryEngine.StandaloneNexus</c>), in the caller's namespace.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    /// <summary>How long one PollNexusOperationExecution waits for the stage before answering "not yet".</summary>
    private static readonly TimeSpan s_operationPollWait = TimeSpan.FromSeconds(20);

    public Task<StartNexusOperationExecutionResponse> StartNexusOperationExecution(StartNexusOperationExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.OperationId, "OperationId");
        Validation.RequireId(request.Endpoint, "Endpoint");
        Validation.RequireId(request.Service, "Service");
        Validation.RequireId(request.Operation, "Operation");
        Validation.RequireNonNegative(request.ScheduleToCloseTimeout, "ScheduleToCloseTimeout");
        Validation.RequireNonNegative(request.ScheduleToStartTimeout, "ScheduleToStartTimeout");
        Validation.RequireNonNegative(request.StartToCloseTimeout, "StartToCloseTimeout");
        Validation.RequireSize(request.Input, "Input", options.MaxPayloadBytes);
        if (string.IsNullOrEmpty(request.RequestId))
        {
            request.RequestId = Guid.NewGuid().ToString();
        }

        if (engine.NexusCalls?.HasEndpoint(ns, request.Endpoint) == false)
        {
            throw ServiceException.NotFound($"Nexus endpoint {ServiceException.Quote(request.Endpoint)} not found.");
        }

        return engine.StartNexusOperationExecutionAsync(ns.Id, request);
    }

    public async Task<DescribeNexusOperationExecutionResponse> DescribeNexusOperationExecution(DescribeNexusOperationExecutionRequest request, ServerCallContext context) =>
        await engine.DescribeNexusOperationExecutionAsync(
            await OperationKeyAsync(context, request.OperationId, request.RunId).ConfigureAwait(false), request.IncludeInput, request.IncludeOutcome).ConfigureAwait(false);

    public async Task<PollNexusOperationExecutionResponse> PollNexusOperationExecution(PollNexusOperationExecutionRequest request, ServerCallContext context)
    {
        var key = await OperationKeyAsync(context, request.OperationId, request.RunId).ConfigureAwait(false);
        var stage = request.WaitStage == NexusOperationWaitStage.Unspecified ? NexusOperationWaitStage.Closed : request.WaitStage;
        return await engine.PollNexusOperationExecutionAsync(key, stage, Validation.LongPollBudget(context, Now, s_operationPollWait)).ConfigureAwait(false);
    }

    public async Task<ListNexusOperationExecutionsResponse> ListNexusOperationExecutions(ListNexusOperationExecutionsRequest request, ServerCallContext context)
    {
        var ns = NexusOperationRuns.QueryNamespace(NamespaceOf(context));
        var (runs, next) = await visibility.ListAsync(ns, request.Query, request.PageSize, request.NextPageToken, NexusOperationRuns.Division).ConfigureAwait(false);
        return new ListNexusOperationExecutionsResponse { Operations = { runs.Select(NexusOperationRuns.ListInfoOf) }, NextPageToken = next };
    }

    public async Task<CountNexusOperationExecutionsResponse> CountNexusOperationExecutions(CountNexusOperationExecutionsRequest request, ServerCallContext context)
    {
        var ns = NexusOperationRuns.QueryNamespace(NamespaceOf(context));
        var counted = await visibility.CountAsync(ns, request.Query, NexusOperationRuns.Division).ConfigureAwait(false);
        var response = new CountNexusOperationExecutionsResponse { Count = counted.Count };
        response.Groups.AddRange(counted.Groups.Select(g => new CountNexusOperationExecutionsResponse.Types.AggregationGroup { Count = g.Count, GroupValues = { g.GroupValues } }));
        return response;
    }

    public async Task<RequestCancelNexusOperationExecutionResponse> RequestCancelNexusOperationExecution(RequestCancelNexusOperationExecutionRequest request, ServerCallContext context)
    {
        var key = await OperationKeyAsync(context, request.OperationId, request.RunId).ConfigureAwait(false);
        await engine.RequestCancelNexusOperationExecutionAsync(key, string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId).ConfigureAwait(false);
        return new RequestCancelNexusOperationExecutionResponse();
    }

    public async Task<TerminateNexusOperationExecutionResponse> TerminateNexusOperationExecution(TerminateNexusOperationExecutionRequest request, ServerCallContext context)
    {
        var key = await OperationKeyAsync(context, request.OperationId, request.RunId).ConfigureAwait(false);
        await engine.TerminateNexusOperationExecutionAsync(key, request.Reason, request.Identity).ConfigureAwait(false);
        return new TerminateNexusOperationExecutionResponse();
    }

    public async Task<DeleteNexusOperationExecutionResponse> DeleteNexusOperationExecution(DeleteNexusOperationExecutionRequest request, ServerCallContext context)
    {
        await engine.DeleteNexusOperationExecutionAsync(await OperationKeyAsync(context, request.OperationId, request.RunId).ConfigureAwait(false)).ConfigureAwait(false);
        return new DeleteNexusOperationExecutionResponse();
    }

    /// <summary>The operation's run, as the client names it (no run id: the latest run of that operation id).</summary>
    private async Task<WorkflowKey> OperationKeyAsync(ServerCallContext context, string operationId, string runId)
    {
        Validation.RequireId(operationId, "OperationId");
        try
        {
            return await engine.ResolveNexusOperationAsync(NamespaceOf(context).Id, operationId, runId).ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw ServiceException.NotFound($"Nexus operation {ServiceException.Quote(operationId)} not found.");
        }
    }
}
