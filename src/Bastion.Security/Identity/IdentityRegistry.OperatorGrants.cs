using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>
/// Operator grants: the only way someone who runs the deployment reaches a tenant's namespace. A grant names the
/// operator, the reason and one namespace, lasts at most 8 hours, and carries one API key that stops working when
/// the grant expires or is revoked. Grants stay in the store after they end, as the record of who had access and why.
/// </summary>
public sealed partial class IdentityRegistry
{
    public const int MaxReasonLength = 500;

    /// <summary>Creates a grant and its key; returns the grant and the key's token, which is shown once and kept nowhere.</summary>
    public Task<(OperatorGrantEntry Grant, string Token)> GrantOperatorAsync(NamespaceEntry ns, string operatorName, string reason, TimeSpan duration, Permission permission)
    {
        ArgumentNullException.ThrowIfNull(ns);
        if (string.IsNullOrWhiteSpace(operatorName) || operatorName.Length > 200)
        {
            throw ServiceException.InvalidArgument($"Operator name {ServiceException.Quote(operatorName, 100)} must be 1 to 200 characters: say who is asking.");
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw ServiceException.InvalidArgument($"A grant needs a reason of 1 to {MaxReasonLength} characters (a ticket or incident reference, say).");
        }

        if (duration <= TimeSpan.Zero || duration > MaxOperatorGrant)
        {
            throw ServiceException.InvalidArgument(
                $"Grant duration {duration.ToString("c", CultureInfo.InvariantCulture)} must be more than zero and at most 8 hours: ask again when it ends.");
        }

        if (!permission.IsNamespaceScoped())
        {
            throw ServiceException.InvalidArgument($"An operator grant gives a namespace permission (read, write or admin), not {permission}.");
        }

        return WriteAsync(changes =>
        {
            var grant = Create(changes, new OperatorGrantEntry
            {
                Id = "grant-" + Guid.NewGuid().ToString("N")[..16],
                Account = ns.Account,
                Operator = operatorName.Trim(),
                NamespaceId = ns.Id,
                NamespaceName = ns.FullName,
                Reason = reason.Trim(),
                Permission = permission,
                ExpiryTime = Now + duration,
            });
            var (_, token) = CreateApiKey(changes, new ApiKeyEntry
            {
                Id = string.Empty,
                Account = ns.Account,
                OwnerId = grant.Id,
                OwnerType = PrincipalType.Operator,
                DisplayName = $"operator grant for {grant.Operator}",
                ExpiryTime = grant.ExpiryTime,
                SecretHash = [],
            });
            return (grant, token);
        });
    }

    /// <summary>Ends a grant now: its key stops working on the next call. The record stays.</summary>
    public Task<OperatorGrantEntry> RevokeOperatorGrantAsync(string grantId)
    {
        var grant = Find<OperatorGrantEntry>(grantId) ?? throw ServiceException.NotFound($"Operator grant {ServiceException.Quote(grantId, 100)} is not found.");
        return grant.ExpiryTime <= Now
            ? Task.FromResult(grant)
            : UpdateAsync<OperatorGrantEntry>(grant.Account, grant.Id, "Operator grant", null, g => g with { ExpiryTime = Now });
    }

    /// <summary>Every operator grant of every account, newest first.</summary>
    public IEnumerable<OperatorGrantEntry> OperatorGrants() =>
        _entries.Values.OfType<OperatorGrantEntry>().OrderByDescending(g => g.CreatedTime).ThenBy(g => g.Id, StringComparer.Ordinal);
}
