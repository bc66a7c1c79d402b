using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Frontend.Nexus;
using Grpc.Core;
using Temporalio.Api.Cloud.CloudService.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>
/// Nexus endpoints through the Cloud Ops API: a worker target (namespace and task queue) and the allowed caller
/// namespaces policy, in the caller's account. The same endpoints OperatorService manages.
/// </summary>
internal sealed partial class CloudServiceHandler
{
    public async Task<CreateNexusEndpointResponse> CreateNexusEndpoint(CreateNexusEndpointRequest request, ServerCallContext context)
    {
        var entry = await endpoints.CreateAsync(CallerOf(context).Account, NexusEndpointProtos.FromCloud(request.Spec)).ConfigureAwait(false);
        return new CreateNexusEndpointResponse
        {
            EndpointId = entry.Id,
            AsyncOperation = await OperationAsync(context, "create-nexus-endpoint", entry.Id, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    public Task<GetNexusEndpointResponse> GetNexusEndpoint(GetNexusEndpointRequest request, ServerCallContext context) =>
        Task.FromResult(new GetNexusEndpointResponse { Endpoint = NexusEndpointProtos.ToCloud(endpoints.Get(CallerOf(context).Account, request.EndpointId), namespaces) });

    /// <summary>The account's endpoints by name, optionally only those of one name or one target namespace and task queue.</summary>
    public Task<GetNexusEndpointsResponse> GetNexusEndpoints(GetNexusEndpointsRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var targetId = string.IsNullOrEmpty(request.TargetNamespaceId) ? null : NamespaceNamed(caller, request.TargetNamespaceId).Id;
        var matching = endpoints.List(caller.Account)
            .Where(e => string.IsNullOrEmpty(request.Name) || e.Name == request.Name)
            .Where(e => targetId is null || e.TargetNamespaceId == targetId)
            .Where(e => string.IsNullOrEmpty(request.TargetTaskQueue) || e.TargetTaskQueue == request.TargetTaskQueue);
        var (page, next) = Page(matching, request.PageSize, request.PageToken, e => e.Name);
        var response = new GetNexusEndpointsResponse { NextPageToken = next };
        response.Endpoints.AddRange(page.Select(e => NexusEndpointProtos.ToCloud(e, namespaces)));
        return Task.FromResult(response);
    }

    public async Task<UpdateNexusEndpointResponse> UpdateNexusEndpoint(UpdateNexusEndpointRequest request, ServerCallContext context)
    {
        await endpoints.UpdateAsync(CallerOf(context).Account, request.EndpointId, EndpointVersion(request.ResourceVersion), NexusEndpointProtos.FromCloud(request.Spec)).ConfigureAwait(false);
        return new UpdateNexusEndpointResponse { AsyncOperation = await OperationAsync(context, "update-nexus-endpoint", request.EndpointId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public async Task<DeleteNexusEndpointResponse> DeleteNexusEndpoint(DeleteNexusEndpointRequest request, ServerCallContext context)
    {
        await endpoints.DeleteAsync(CallerOf(context).Account, request.EndpointId, EndpointVersion(request.ResourceVersion)).ConfigureAwait(false);
        return new DeleteNexusEndpointResponse { AsyncOperation = await OperationAsync(context, "delete-nexus-endpoint", request.EndpointId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    /// <summary>An endpoint's <c>resource_version</c>: empty is "whatever it is now"; anything not a version is stale by definition.</summary>
    private static long? EndpointVersion(string resourceVersion) =>
        string.IsNullOrEmpty(resourceVersion) ? null
        : long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version
        : throw new ServiceException(ErrorKind.FailedPrecondition, $"resource_version {ServiceException.Quote(resourceVersion, 40)} is not this endpoint's version: read it again and retry.");
}
