using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>
/// The first start of a production server on an empty account: creates the account's first owner and an owner
/// API key. The caller prints a generated token once (never to a log); a chosen token (the operator's
/// <c>BASTION_OWNER_API_KEY</c>) is used as given.
/// </summary>
public static class OwnerBootstrap
{
    public const int MinChosenTokenLength = 32;

    /// <summary>Returns the owner's new token when one was generated; null when the account had users or the token was chosen.</summary>
    public static async Task<string?> RunAsync(IdentityRegistry identities, string account, string ownerEmail, string? chosenToken, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(time);
        if (identities.HasUsers(account))
        {
            return null;
        }

        if (chosenToken is not null && chosenToken.Length < MinChosenTokenLength)
        {
            throw new ArgumentException($"BASTION_OWNER_API_KEY must be at least {MinChosenTokenLength} characters.");
        }

        var owner = await identities.CreateAsync(new UserEntry { Id = Guid.NewGuid().ToString(), Account = account, Email = ownerEmail, Role = AccountRole.Owner }).ConfigureAwait(false);
        var (_, token) = await identities.CreateApiKeyAsync(
            new ApiKeyEntry
            {
                Id = string.Empty,
                Account = account,
                OwnerId = owner.Id,
                OwnerType = PrincipalType.User,
                DisplayName = "bootstrap owner key",
                ExpiryTime = time.GetUtcNow().UtcDateTime + IdentityRegistry.MaxKeyLifetime,
                SecretHash = [],
            },
            chosenToken).ConfigureAwait(false);
        return chosenToken is null ? token : null;
    }
}
