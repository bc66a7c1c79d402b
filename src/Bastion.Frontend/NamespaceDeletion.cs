using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Nexus;
using Bastion.Security.Identity;

namespace Bastion.Frontend;

/// <summary>
/// Deleting a namespace, the one way both APIs do it (OperatorService and the Cloud Ops API): refused while it is
/// delete-protected, at another resource version than the caller read, or the target of a Nexus endpoint (Temporal's
/// rule and text); then the namespace is gone at once, with its namespace-scoped service accounts, their keys and
/// every grant on it. Its runs and everything else of it in the store are purged in the background
/// (<see cref="NamespacePurger"/>, recorded durably with the deletion); a namespace made later under the same name has a
/// new id. The call's audit record names the namespace as the request did.
/// </summary>
internal sealed class NamespaceDeletion(NamespaceRegistry namespaces, IdentityRegistry identities, NexusEndpointRegistry endpoints)
{
    /// <summary>Deletes <paramref name="current"/>; returns the name Temporal gives a deleted namespace (<c>name-deleted-&lt;id prefix&gt;</c>).</summary>
    public async Task<string> DeleteAsync(NamespaceEntry current, long? expectedVersion)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (current.DeleteProtection)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, $"Namespace {current.FullName} is delete-protected: turn lifecycle.enable_delete_protection off first.");
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, $"Namespace {current.FullName} is at resource version {current.Version}, not {expected}: read it again and retry.");
        }

        if (endpoints.List(current.Account).FirstOrDefault(e => e.TargetNamespaceId == current.Id) is { } target)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, $"cannot delete a namespace that is a target of a Nexus endpoint {target.Name}");
        }

        await namespaces.DeleteAsync(current).ConfigureAwait(false);
        await identities.RemoveNamespaceAsync(current).ConfigureAwait(false);
        var renamed = $"{current.Name}-deleted-{current.Id[..5]}";
        return current.Account == NamespaceRegistry.DevAccount ? renamed : $"{renamed}.{current.Account}";
    }
}
