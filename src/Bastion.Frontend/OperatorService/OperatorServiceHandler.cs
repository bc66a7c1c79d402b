using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Nexus;
using Bastion.Security.Pipeline;
using Bastion.Visibility;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.OperatorService.V1;

namespace Bastion.Frontend.OperatorService;

/// <summary>
/// OperatorService handlers: custom search attributes per namespace; Nexus endpoints (<c>.Nexus</c>); DeleteNamespace
/// (account admins, through <see cref="NamespaceDeletion"/>). Methods without a handler here answer UNIMPLEMENTED naming
/// themselves (the binder does that).
/// </summary>
internal sealed partial class OperatorServiceHandler(NamespaceRegistry namespaces, NexusEndpointRegistry endpoints, NamespaceDeletion deletion)
{
    private static readonly SemaphoreSlim s_changeLock = new(1, 1);

    /// <summary>Adds attributes; re-adding one with the same type is a no-op, with another type an error.</summary>
    public async Task<AddSearchAttributesResponse> AddSearchAttributes(AddSearchAttributesRequest request, ServerCallContext context)
    {
        var ns = CallContext.Of(context).RequiredNamespace;
        if (request.SearchAttributes.Count == 0)
        {
            throw ServiceException.InvalidArgument("SearchAttributes are not set on request.");
        }

        await s_changeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = namespaces.Resolve(ns.FullName);
            var attributes = CustomSearchAttributes.Add(
                current.SearchAttributes, request.SearchAttributes.Select(a => KeyValuePair.Create(a.Key, (SearchAttributeType)a.Value)));
            await namespaces.UpdateAsync(current with { SearchAttributes = attributes }).ConfigureAwait(false);
        }
        finally
        {
            s_changeLock.Release();
        }

        return new AddSearchAttributesResponse();
    }

    /// <summary>
    /// Removes attributes from the namespace's registry. Values already stored stay in history and in the rows,
    /// but can no longer be queried or set.
    /// </summary>
    public async Task<RemoveSearchAttributesResponse> RemoveSearchAttributes(RemoveSearchAttributesRequest request, ServerCallContext context)
    {
        var ns = CallContext.Of(context).RequiredNamespace;
        await s_changeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = namespaces.Resolve(ns.FullName);
            var attributes = new Dictionary<string, SearchAttributeType>(current.SearchAttributes, StringComparer.Ordinal);
            foreach (var name in request.SearchAttributes)
            {
                if (!attributes.Remove(name))
                {
                    throw ServiceException.NotFound($"Search attribute {ServiceException.Quote(name)} is not a custom attribute of this namespace.");
                }
            }

            await namespaces.UpdateAsync(current with { SearchAttributes = attributes }).ConfigureAwait(false);
        }
        finally
        {
            s_changeLock.Release();
        }

        return new RemoveSearchAttributesResponse();
    }

    /// <summary>
    /// Temporal's DeleteNamespace: by name or by id (one of them), in the caller's account; answers the name Temporal
    /// gives the deleted namespace. Temporal's texts for a missing or doubly named namespace.
    /// </summary>
    public async Task<DeleteNamespaceResponse> DeleteNamespace(DeleteNamespaceRequest request, ServerCallContext context)
    {
        var account = CallContext.Of(context).Principal!.Account;
        var byName = request.Namespace.Length > 0;
        if (byName == (request.NamespaceId.Length > 0))
        {
            throw ServiceException.InvalidArgument(byName ? "only one of namespace or namespace ID must be set" : "namespace or namespace ID is required");
        }

        var entry = byName ? (namespaces.TryResolve(request.Namespace, out var named) ? named : null) : namespaces.FindById(request.NamespaceId);
        if (entry is null || entry.Account != account)
        {
            var shown = byName ? request.Namespace : request.NamespaceId;
            throw ServiceException.InvalidArgument($"namespace {(shown.Length > 100 ? shown[..100] : shown)} is not found");
        }

        return new DeleteNamespaceResponse { DeletedNamespace = await deletion.DeleteAsync(entry, null).ConfigureAwait(false) };
    }

    public Task<ListSearchAttributesResponse> ListSearchAttributes(ListSearchAttributesRequest request, ServerCallContext context)
    {
        var ns = namespaces.Resolve(CallContext.Of(context).RequiredNamespace.FullName);
        var response = new ListSearchAttributesResponse();
        foreach (var (name, type) in ns.SearchAttributes)
        {
            response.CustomAttributes[name] = (IndexedValueType)type;
        }

        foreach (var attribute in SystemAttributes.Columns.Concat(SystemAttributes.Predefined))
        {
            response.SystemAttributes[attribute.Name] = (IndexedValueType)attribute.Type;
        }

        return Task.FromResult(response);
    }
}
