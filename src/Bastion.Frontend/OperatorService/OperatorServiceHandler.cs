using System.Text.RegularExpressions;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Pipeline;
using Bastion.Visibility;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.OperatorService.V1;

namespace Bastion.Frontend.OperatorService;

/// <summary>
/// OperatorService handlers: custom search attributes per namespace. Methods without a handler here answer
/// UNIMPLEMENTED naming themselves (the binder does that).
/// </summary>
internal sealed partial class OperatorServiceHandler(NamespaceRegistry namespaces)
{
    /// <summary>Custom attributes a namespace may hold (Temporal Cloud allows about this many in total).</summary>
    public const int MaxCustomAttributes = 100;

    private static readonly Lock s_changeLock = new();

    /// <summary>Adds attributes; re-adding one with the same type is a no-op, with another type an error.</summary>
    public Task<AddSearchAttributesResponse> AddSearchAttributes(AddSearchAttributesRequest request, ServerCallContext context)
    {
        var ns = CallContext.Of(context).RequiredNamespace;
        if (request.SearchAttributes.Count == 0)
        {
            throw ServiceException.InvalidArgument("SearchAttributes are not set on request.");
        }

        lock (s_changeLock)
        {
            var current = namespaces.Resolve(ns.FullName);
            var attributes = new Dictionary<string, SearchAttributeType>(current.SearchAttributes, StringComparer.Ordinal);
            foreach (var (name, type) in request.SearchAttributes)
            {
                if (!NameRule().IsMatch(name) || SystemAttributes.IsReserved(name))
                {
                    throw ServiceException.InvalidArgument(
                        $"Search attribute name {ServiceException.Quote(name)} is invalid or reserved: use up to 64 letters, digits, '_' and '-', starting with a letter, not a system name or one starting with Temporal.");
                }

                if (!Enum.IsDefined((SearchAttributeType)type) || type == IndexedValueType.Unspecified)
                {
                    throw ServiceException.InvalidArgument($"Search attribute {ServiceException.Quote(name)} has an unknown type {type}.");
                }

                if (attributes.TryGetValue(name, out var existing) && existing != (SearchAttributeType)type)
                {
                    throw new ServiceException(ErrorKind.AlreadyExists, $"Search attribute {ServiceException.Quote(name)} already exists with type {existing}.");
                }

                attributes[name] = (SearchAttributeType)type;
            }

            if (attributes.Count > MaxCustomAttributes)
            {
                throw ServiceException.InvalidArgument($"A namespace may have at most {MaxCustomAttributes} custom search attributes.");
            }

            namespaces.Update(current with { SearchAttributes = attributes });
        }

        return Task.FromResult(new AddSearchAttributesResponse());
    }

    /// <summary>
    /// Removes attributes from the namespace's registry. Values already stored stay in history and in the rows,
    /// but can no longer be queried or set.
    /// </summary>
    public Task<RemoveSearchAttributesResponse> RemoveSearchAttributes(RemoveSearchAttributesRequest request, ServerCallContext context)
    {
        var ns = CallContext.Of(context).RequiredNamespace;
        lock (s_changeLock)
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

            namespaces.Update(current with { SearchAttributes = attributes });
        }

        return Task.FromResult(new RemoveSearchAttributesResponse());
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

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex NameRule();
}
