using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>
/// An API key as stored: its public id, its owner, and the SHA-256 of its secret. The secret itself is never
/// stored: it is shown once, when the key is created.
/// </summary>
public sealed record ApiKeyEntry : IdentityEntry
{
    public required string OwnerId { get; init; }

    /// <summary>User, ServiceAccount, or Operator (the key of an operator grant).</summary>
    public required PrincipalType OwnerType { get; init; }

    public string DisplayName { get; init; } = string.Empty;

    public string Description { get; init; } = string.Empty;

    public DateTime ExpiryTime { get; init; }

    public bool Disabled { get; init; }

    public required byte[] SecretHash { get; init; }
}
