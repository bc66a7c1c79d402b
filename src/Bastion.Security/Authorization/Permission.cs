namespace Bastion.Security.Authorization;

/// <summary>What a call needs. Namespace permissions apply to the namespace the request names.</summary>
public enum Permission
{
    /// <summary>Anyone who reached the endpoint (capability discovery).</summary>
    Public,

    /// <summary>Describe, list, count, history, query; schedules and task queues read.</summary>
    NamespaceRead,

    /// <summary>Read, plus start, signal, cancel, terminate, reset, update, delete; poll and complete tasks.</summary>
    NamespaceWrite,

    /// <summary>Write, plus namespace settings, search attributes, certificates, access of others.</summary>
    NamespaceAdmin,

    /// <summary>Read the account's configuration (the account role <c>read</c> and above).</summary>
    AccountRead,

    /// <summary>Account configuration: namespaces, users, service accounts, clusters (owner and admin).</summary>
    AccountAdmin,

    /// <summary>Create a namespace (developer, admin, owner); a developer becomes its namespace admin.</summary>
    NamespaceCreate,

    /// <summary>
    /// Any user or account-scoped service account of the account: the caller's own identity and API keys. The
    /// handler narrows what it returns or changes to the caller's own resources unless the caller is an admin.
    /// </summary>
    AccountMember,

    /// <summary>Billing and usage (owner, finance admin).</summary>
    Billing,
}

public static class PermissionExtensions
{
    public static bool IsNamespaceScoped(this Permission permission) =>
        permission is Permission.NamespaceRead or Permission.NamespaceWrite or Permission.NamespaceAdmin;
}
