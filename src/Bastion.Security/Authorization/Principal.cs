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

    /// <summary>Whether this principal may do what <paramref name="permission"/> names in <paramref name="namespaceAccount"/>.</summary>
    public bool Allows(Permission permission, string? namespaceAccount)
    {
        if (permission == Permission.Public)
        {
            return true;
        }

        if (namespaceAccount != null && namespaceAccount != Account)
        {
            return false; // Never across accounts.
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
