using System.Globalization;
using Bastion.Engine.Errors;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Cli;

/// <summary>Account roles and namespace permissions as the identity commands take and show them.</summary>
internal static class AccessSyntax
{
    public static readonly string[] Roles = ["owner", "admin", "developer", "finance_admin", "read"];
    public static readonly string[] Permissions = ["read", "write", "admin"];

    public static AccountAccess.Types.Role Role(string role) => role switch
    {
        "owner" => AccountAccess.Types.Role.Owner,
        "admin" => AccountAccess.Types.Role.Admin,
        "developer" => AccountAccess.Types.Role.Developer,
        "finance_admin" => AccountAccess.Types.Role.FinanceAdmin,
        "read" => AccountAccess.Types.Role.Read,
        _ => throw ServiceException.InvalidArgument($"--role {ServiceException.Quote(role, 40)}: expected one of {string.Join(", ", Roles)}."),
    };

    public static NamespaceAccess Permission(string permission, string option) => new()
    {
        Permission = permission switch
        {
            "read" => NamespaceAccess.Types.Permission.Read,
            "write" => NamespaceAccess.Types.Permission.Write,
            "admin" => NamespaceAccess.Types.Permission.Admin,
            "none" => NamespaceAccess.Types.Permission.Unspecified,
            _ => throw ServiceException.InvalidArgument($"{option} {ServiceException.Quote(permission, 40)}: expected read, write or admin."),
        },
    };

    /// <summary>An <see cref="Access"/> from a role (may be null) and <c>NAMESPACE=PERMISSION</c> pairs.</summary>
    public static Access Access(string? role, IEnumerable<string> namespaceAccess)
    {
        var access = new Access { AccountAccess = new AccountAccess { Role = role is null ? AccountAccess.Types.Role.Unspecified : Role(role) } };
        foreach (var pair in namespaceAccess)
        {
            var eq = pair.LastIndexOf('=');
            if (eq <= 0)
            {
                throw ServiceException.InvalidArgument($"--namespace-access {ServiceException.Quote(pair, 100)}: expected NAMESPACE=read|write|admin.");
            }

            access.NamespaceAccesses[pair[..eq]] = Permission(pair[(eq + 1)..], "--namespace-access");
        }

        return access;
    }

    /// <summary>Changes <paramref name="access"/> in place: the role when given, all namespace grants when any are given.</summary>
    public static void Apply(Access access, string? role, string[]? namespaceAccess)
    {
        ArgumentNullException.ThrowIfNull(access);
        if (role is not null)
        {
            access.AccountAccess = new AccountAccess { Role = Role(role) };
        }

        if (namespaceAccess is { Length: > 0 })
        {
            access.NamespaceAccesses.Clear();
            access.NamespaceAccesses.Add(Access(null, namespaceAccess).NamespaceAccesses);
        }
    }

    public static string RoleName(Access? access) => access?.AccountAccess?.Role switch
    {
        null or AccountAccess.Types.Role.Unspecified => "-",
        AccountAccess.Types.Role.FinanceAdmin => "finance_admin",
        var role => role.ToString()!.ToLowerInvariant(),
    };

    public static string Namespaces(Access? access) =>
        access is null || access.NamespaceAccesses.Count == 0
            ? "-"
            : string.Join(",", access.NamespaceAccesses.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value.Permission.ToString().ToLowerInvariant()}"));

    public static string Time(Timestamp? time) =>
        time is null ? "-" : time.ToDateTime().ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);
}
