using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>A group of users: its role and namespace permissions add to each member's (the most permissive wins).</summary>
public sealed record UserGroupEntry : IdentityEntry
{
    public required string DisplayName { get; init; }

    public AccountRole Role { get; init; }

    public IReadOnlyDictionary<string, Permission> NamespaceAccess { get; init; } = new Dictionary<string, Permission>();

    /// <summary>
    /// The identity provider's group this group mirrors (Cloud's <c>scim_group.idp_id</c>), or null for Bastion's own
    /// group. Its members are whoever last signed in by SSO with that group in their groups claim.
    /// </summary>
    public string? IdpGroup { get; init; }

    /// <summary>Member user ids, with when each joined.</summary>
    public IReadOnlyDictionary<string, DateTime> Members { get; init; } = new Dictionary<string, DateTime>();
}
