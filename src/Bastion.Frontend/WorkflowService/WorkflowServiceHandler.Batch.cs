using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>Batch operations (docs/batch-operations.md): the engine's batch jobs validate, store and run them.</summary>
internal sealed partial class WorkflowServiceHandler
{
    public async Task<StartBatchOperationResponse> StartBatchOperation(StartBatchOperationRequest request, ServerCallContext context)
    {
        if (request.SignalOperation is { } signal)
        {
            Validation.RequireSize(signal.Input, "SignalOperation.Input", options.MaxPayloadBytes);
            Validation.RequireSize(signal.Header, "SignalOperation.Header", options.MaxPayloadBytes);
        }

        await batches.StartAsync(NamespaceOf(context), request).ConfigureAwait(false);
        return new StartBatchOperationResponse();
    }

    public Task<DescribeBatchOperationResponse> DescribeBatchOperation(DescribeBatchOperationRequest request, ServerCallContext context) =>
        batches.DescribeAsync(NamespaceOf(context), request.JobId);

    public Task<ListBatchOperationsResponse> ListBatchOperations(ListBatchOperationsRequest request, ServerCallContext context) =>
        batches.ListAsync(NamespaceOf(context), request.PageSize, request.NextPageToken);

    public async Task<StopBatchOperationResponse> StopBatchOperation(StopBatchOperationRequest request, ServerCallContext context)
    {
        await batches.StopAsync(NamespaceOf(context), request).ConfigureAwait(false);
        return new StopBatchOperationResponse();
    }
}
