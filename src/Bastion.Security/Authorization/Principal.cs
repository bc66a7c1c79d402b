using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Namespaces;

namespace Bastion.Security.Authorization;

/// <summary>The kinds of caller identity.</summary>
public enum PrincipalType
{
    /// <summary>The dev-mode local caller: a loopback client of a dev server, without credentials.</summary>
    LocalDev,
    User,
    ServiceAccount,
    Certificate,

    /// <summary>A person who runs the deployment, acting on one namespace through a time-limited grant.</summary>
    Operator,
}

/// <summary>An account role. They are not one ladder: finance admin sees billing only; the others grow in power.</summary>
public enum AccountRole
{
    None,
    Read,
    FinanceAdmin,
    Developer,
    Admin,
    Owner,
}

/// <summary>An authenticated caller and what it was granted.</summary>
public sealed record Principal(PrincipalType Type, string Id, string Name, AccountRole Role, string Account)
{
    private static readonly IReadOnlyDictionary<string, Permission> s_noGrants = new Dictionary<string, Permission>();

    /// <summary>The dev server's only identity: owner of the <c>local</c> account.</summary>
    public static Principal LocalDev { get; } = new(PrincipalType.LocalDev, "local-dev", "local developer", AccountRole.Owner, "local");

    /// <summary>For a namespace-scoped identity (a client certificate, a namespace-scoped service account, an operator grant): the id of its one namespace.</summary>
    public string? NamespaceId { get; init; }

    /// <summary>What a namespace-scoped identity may do in its namespace.</summary>
    public Permission NamespacePermission { get; init; }

    /// <summary>Every account role held (its own and its groups'); <see cref="Role"/> alone when not set.</summary>
    public IReadOnlySet<AccountRole>? Roles { get; init; }

    /// <summary>Namespace permissions of an account identity, by namespace id (its own grants merged with its groups').</summary>
    public IReadOnlyDictionary<string, Permission> NamespaceGrants { get; init; } = s_noGrants;

    /// <summary>The public id of the API key the caller authenticated with, for the audit record; never the secret.</summary>
    public string? ApiKeyId { get; init; }

    /// <summary>A client certificate accepted by a namespace: write on that namespace, nothing else.</summary>
    public static Principal ForCertificate(NamespaceEntry entry, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(certificate);
        return new Principal(
            PrincipalType.Certificate,
            "sha256:" + certificate.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant(),
            certificate.Subject,
            AccountRole.None,
            entry.Account)
        {
            NamespaceId = entry.Id,
            NamespacePermission = Permission.NamespaceWrite,
        };
    }

    /// <summary>Whether this principal may do what <paramref name="permission"/> names on <paramref name="target"/> (null: no namespace).</summary>
    public bool Allows(Permission permission, NamespaceEntry? target)
    {
        if (permission == Permission.Public)
        {
            return true;
        }

        if (target != null && target.Account != Account)
        {
            return false; // Never across accounts.
        }

        if (NamespaceId != null)
        {
            // Bound to one namespace: only namespace permissions, only there, only up to its grant.
            return permission.IsNamespaceScoped() && target?.Id == NamespaceId && permission <= NamespacePermission;
        }

        if (permission.IsNamespaceScoped())
        {
            return target != null
                && (HasRole(r => r >= AccountRole.Admin)
                    || NamespaceGrants.TryGetValue(target.Id, out var granted) && permission <= granted);
        }

        return permission switch
        {
            Permission.AccountMember => HasRole(r => r != AccountRole.None),
            Permission.AccountRead => HasRole(r => r is AccountRole.Read or >= AccountRole.Developer),
            Permission.AccountAdmin => HasRole(r => r >= AccountRole.Admin),
            Permission.NamespaceCreate => HasRole(r => r >= AccountRole.Developer),
            Permission.Billing => HasRole(r => r is AccountRole.FinanceAdmin or AccountRole.Owner),
            _ => false,
        };
    }

    /// <summary>
    /// Whether <paramref name="target"/>'s data-plane authentication refuses this caller's credential: a namespace
    /// whose <c>api_key_auth</c> is off takes no API keys (operator grants excepted: they name their namespace).
    /// </summary>
    public bool IsRefusedBy(NamespaceEntry target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return ApiKeyId != null && Type != PrincipalType.Operator && !target.ApiKeyAuth;
    }

    /// <summary>Whether the principal holds a role that satisfies <paramref name="test"/>.</summary>
    public bool HasRole(Func<AccountRole, bool> test)
    {
        ArgumentNullException.ThrowIfNull(test);
        return Roles is { } roles ? roles.Any(test) : test(Role);
    }
}
