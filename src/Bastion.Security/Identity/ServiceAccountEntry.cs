using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>
/// A machine identity. Account-scoped: an account role and namespace permissions, like a user. Namespace-scoped:
/// exactly one namespace (<see cref="ScopedNamespaceId"/>) with one permission, and deleted with it.
/// </summary>
public sealed record ServiceAccountEntry : IdentityEntry
{
    public required string Name { get; init; }

    public string Description { get; init; } = string.Empty;

    public AccountRole Role { get; init; }

    public IReadOnlyDictionary<string, Permission> NamespaceAccess { get; init; } = new Dictionary<string, Permission>();

    public string? ScopedNamespaceId { get; init; }

    public Permission ScopedPermission { get; init; }
}
