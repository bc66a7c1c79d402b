using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>A person: an e-mail, an account role and namespace permissions (by namespace id).</summary>
public sealed record UserEntry : IdentityEntry
{
    public required string Email { get; init; }

    public AccountRole Role { get; init; }

    public IReadOnlyDictionary<string, Permission> NamespaceAccess { get; init; } = new Dictionary<string, Permission>();
}
