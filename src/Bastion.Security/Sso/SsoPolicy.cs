using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Sessions;

namespace Bastion.Security.Sso;

/// <summary>
/// The rules of single sign-on for people, one place for every protocol: who an identity provider's person becomes
/// (the account's user with that verified e-mail; created with no access only when the account allows it), the groups
/// they bring (<see cref="IdentityRegistry.SignedInUserAsync"/>), the MFA rule, whether an SSO session still stands
/// on each call (the user still there, SSO still on, the MFA rule still met by how they signed in), and whether a
/// person may sign in to the UI with an API key at all.
/// </summary>
public sealed class SsoPolicy(IdentityRegistry identities, TimeProvider time)
{
    /// <summary>The account's settings with <paramref name="method"/> turned on, or null.</summary>
    public SsoSettingsEntry? Enabled(string account, string method)
    {
        var settings = identities.SsoSettingsOf(account);
        return method switch
        {
            UiSession.OidcMethod when settings?.Oidc is { Enabled: true } => settings,
            UiSession.SamlMethod when settings?.Saml is { Enabled: true } => settings,
            _ => null,
        };
    }

    /// <summary>The principal <paramref name="who"/> signs in as, and whether they used multiple factors; refused with the reason.</summary>
    public async Task<(Principal Principal, bool Mfa)> SignInAsync(string account, SsoIdentity who)
    {
        ArgumentNullException.ThrowIfNull(who);
        var settings = Enabled(account, who.Method)
            ?? throw new ServiceException(ErrorKind.FailedPrecondition, $"Single sign-on ({who.Method}) is not turned on for account {account}.");
        if (string.IsNullOrWhiteSpace(who.Email))
        {
            throw new ServiceException(ErrorKind.Unauthenticated, "The identity provider's token names no e-mail; Bastion knows people by e-mail.");
        }

        var email = who.Email.Trim();
        if (!who.EmailVerified)
        {
            throw new ServiceException(ErrorKind.PermissionDenied, $"The identity provider has not verified the e-mail {ServiceException.Quote(email, 200)} (email_verified is not true).");
        }

        var user = await identities.SignedInUserAsync(account, email, who.Groups, settings.JitUsers).ConfigureAwait(false)
            ?? throw new ServiceException(ErrorKind.PermissionDenied, $"No user of account {account} has the e-mail {ServiceException.Quote(email, 200)}: an account admin must invite you first.");
        var principal = identities.PrincipalOf(user);
        var mfa = who.AuthMethods.Any(m => settings.MfaValues.Contains(m, StringComparer.Ordinal));
        if (!mfa && NeedsMfa(settings, principal))
        {
            throw new ServiceException(ErrorKind.PermissionDenied, MfaRefusal(settings));
        }

        return (principal, mfa);
    }

    /// <summary>The principal an SSO session acts as on this call; UNAUTHENTICATED, with the reason, when the session no longer stands.</summary>
    public Principal AuthenticateSession(UiSession session) =>
        Check(session, out var principal) is { } reason ? throw new ServiceException(ErrorKind.Unauthenticated, reason + ": sign in again.") : principal!;

    /// <summary>Why <paramref name="session"/> no longer stands (what it was signed in with is gone), or null.</summary>
    public string? RevokedReason(UiSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.Method != UiSession.ApiKeyMethod)
        {
            return Check(session, out _);
        }

        var key = identities.Find<ApiKeyEntry>(session.ApiKeyId!);
        return key is null ? $"API key {session.ApiKeyId} was deleted"
            : key.Disabled ? $"API key {key.Id} was disabled"
            : time.GetUtcNow().UtcDateTime >= key.ExpiryTime ? $"API key {key.Id} expired"
            : null;
    }

    /// <summary>Whether people of <paramref name="account"/> may sign in to the UI with API keys.</summary>
    public bool PeopleApiKeySignIn(string account) => identities.SsoSettingsOf(account) is not { PeopleApiKeySignIn: false };

    /// <summary>
    /// Refuses a person's API-key sign-in to the UI when the account turned it off for people: service accounts, and the
    /// account's owners as break-glass, still sign in with keys.
    /// </summary>
    public void CheckApiKeySignIn(Principal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Type == PrincipalType.User && identities.SsoSettingsOf(principal.Account) is { PeopleApiKeySignIn: false }
            && !principal.HasRole(r => r == AccountRole.Owner))
        {
            throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"Account {principal.Account} signs people in to the web UI by single sign-on only; API keys sign in service accounts (and owners, as break-glass).");
        }
    }

    private string? Check(UiSession session, out Principal? principal)
    {
        principal = null;
        var account = session.SignedInAs.Account;
        var settings = Enabled(account, session.Method);
        if (settings is null)
        {
            return $"single sign-on ({session.Method}) was turned off for account {account}";
        }

        if (identities.Find<UserEntry>(session.SignedInAs.Id) is not { } user || user.Account != account)
        {
            return $"user {session.SignedInAs.Name} was removed";
        }

        principal = identities.PrincipalOf(user);
        return !session.Mfa && NeedsMfa(settings, principal) ? MfaRefusal(settings) : null;
    }

    private static bool NeedsMfa(SsoSettingsEntry settings, Principal principal) => settings.RequireMfa switch
    {
        MfaRule.All => true,
        MfaRule.Owners => principal.HasRole(r => r == AccountRole.Owner),
        _ => false,
    };

    private static string MfaRefusal(SsoSettingsEntry settings) => string.Format(
        CultureInfo.InvariantCulture,
        "Account rule: {0} must sign in with multiple factors, and the identity provider reported none (amr/acr had none of {1})",
        settings.RequireMfa == MfaRule.All ? "everyone" : "an account owner",
        string.Join(", ", settings.MfaValues));
}
