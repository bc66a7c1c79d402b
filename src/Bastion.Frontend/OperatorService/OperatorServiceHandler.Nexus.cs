using System.Text;
using Bastion.Engine.Errors;
using Bastion.Frontend.Nexus;
using Bastion.Security.Pipeline;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.OperatorService.V1;

namespace Bastion.Frontend.OperatorService;

/// <summary>
/// Nexus endpoints through OperatorService, in the caller's account (the permission is account admin to change,
/// account read to look). OperatorService's spec has no allowlist: a new endpoint allows its target namespace to call
/// it, and an update keeps the list (the Cloud Ops API sets it).
/// </summary>
internal sealed partial class OperatorServiceHandler
{
    private const int DefaultEndpointPageSize = 100;
    private const int MaxEndpointPageSize = 1000;

    public async Task<CreateNexusEndpointResponse> CreateNexusEndpoint(CreateNexusEndpointRequest request, ServerCallContext context)
    {
        var entry = await endpoints.CreateAsync(AccountOf(context), NexusEndpointProtos.FromOperator(request.Spec)).ConfigureAwait(false);
        return new CreateNexusEndpointResponse { Endpoint = NexusEndpointProtos.ToOperator(entry, namespaces) };
    }

    public async Task<UpdateNexusEndpointResponse> UpdateNexusEndpoint(UpdateNexusEndpointRequest request, ServerCallContext context)
    {
        var entry = await endpoints.UpdateAsync(AccountOf(context), request.Id, request.Version, NexusEndpointProtos.FromOperator(request.Spec)).ConfigureAwait(false);
        return new UpdateNexusEndpointResponse { Endpoint = NexusEndpointProtos.ToOperator(entry, namespaces) };
    }

    public async Task<DeleteNexusEndpointResponse> DeleteNexusEndpoint(DeleteNexusEndpointRequest request, ServerCallContext context)
    {
        if (request.Version <= 0)
        {
            throw ServiceException.InvalidArgument("endpoint version is non-positive");
        }

        await endpoints.DeleteAsync(AccountOf(context), request.Id, request.Version).ConfigureAwait(false);
        return new DeleteNexusEndpointResponse();
    }

    public Task<GetNexusEndpointResponse> GetNexusEndpoint(GetNexusEndpointRequest request, ServerCallContext context) =>
        Task.FromResult(new GetNexusEndpointResponse { Endpoint = NexusEndpointProtos.ToOperator(endpoints.Get(AccountOf(context), request.Id), namespaces) });

    /// <summary>The account's endpoints in name order; the page token is the last name returned. A name filter returns that endpoint or none.</summary>
    public Task<ListNexusEndpointsResponse> ListNexusEndpoints(ListNexusEndpointsRequest request, ServerCallContext context)
    {
        var account = AccountOf(context);
        var response = new ListNexusEndpointsResponse();
        if (!string.IsNullOrEmpty(request.Name))
        {
            if (endpoints.FindByName(account, request.Name) is { } named)
            {
                response.Endpoints.Add(NexusEndpointProtos.ToOperator(named, namespaces));
            }

            return Task.FromResult(response);
        }

        var size = request.PageSize switch
        {
            0 => DefaultEndpointPageSize,
            < 0 => throw ServiceException.InvalidArgument("page_size is negative"),
            > MaxEndpointPageSize => throw ServiceException.InvalidArgument($"page_size exceeds limit of {MaxEndpointPageSize}"),
            var n => n,
        };
        var after = request.NextPageToken.IsEmpty ? null : request.NextPageToken.ToStringUtf8();
        var page = endpoints.List(account).Where(e => after is null || string.CompareOrdinal(e.Name, after) > 0).Take(size + 1).ToList();
        if (page.Count > size)
        {
            page.RemoveAt(size);
            response.NextPageToken = ByteString.CopyFrom(page[^1].Name, Encoding.UTF8);
        }

        response.Endpoints.AddRange(page.Select(e => NexusEndpointProtos.ToOperator(e, namespaces)));
        return Task.FromResult(response);
    }

    private static string AccountOf(ServerCallContext context) => CallContext.Of(context).Principal!.Account;
}
