using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>
/// An operator's time-limited access to one tenant namespace (at most 8 hours), with the reason given. Its API key
/// (owner type Operator) stops working when the grant expires, by the clock alone.
/// </summary>
public sealed record OperatorGrantEntry : IdentityEntry
{
    /// <summary>Who asked (the operator's name, as given to the CLI).</summary>
    public required string Operator { get; init; }

    public required string NamespaceId { get; init; }

    public required string NamespaceName { get; init; }

    public required string Reason { get; init; }

    public Permission Permission { get; init; }

    public DateTime ExpiryTime { get; init; }
}
