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
}

/// <summary>An account role, least to most powerful where they are ordered.</summary>
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
    /// <summary>The dev server's only identity: owner of the <c>local</c> account.</summary>
    public static Principal LocalDev { get; } = new(PrincipalType.LocalDev, "local-dev", "local developer", AccountRole.Owner, "local");

    /// <summary>For a namespace-scoped identity (a client certificate): the id of its one namespace.</summary>
    public string? NamespaceId { get; init; }

    /// <summary>What a namespace-scoped identity may do in its namespace.</summary>
    public Permission NamespacePermission { get; init; }

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

        return permission switch
        {
            Permission.AccountRead => Role >= AccountRole.Read && Role != AccountRole.FinanceAdmin,
            Permission.AccountAdmin => Role >= AccountRole.Admin,
            Permission.NamespaceRead or Permission.NamespaceWrite or Permission.NamespaceAdmin => Role >= AccountRole.Admin,
            _ => false,
        };
    }
}
