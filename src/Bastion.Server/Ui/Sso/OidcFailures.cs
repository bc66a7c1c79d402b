using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Bastion.Server.Ui.Sso;

/// <summary>
/// Why an OpenID Connect sign-in failed, as a short reason code for the audit record and a sentence for the person.
/// Built from the exception's type, never from the token: nothing of the ID token, code or secret goes into either
/// (IdentityModel's own messages hide such values unless told otherwise, and are not used here).
/// </summary>
internal static class OidcFailures
{
    public static (string Reason, string Message) Describe(Exception? failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            var described = e switch
            {
                SecurityTokenInvalidIssuerException => ("issuer", "the ID token was issued by another issuer than the one configured."),
                SecurityTokenInvalidAudienceException => ("audience", "the ID token was issued to another client (its audience is not Bastion's client id)."),
                SecurityTokenExpiredException => ("expired", "the ID token has expired."),
                SecurityTokenNotYetValidException => ("not_yet_valid", "the ID token is not valid yet."),
                SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException =>
                    ("signature", "the ID token's signature does not verify with the identity provider's published keys."),
                OpenIdConnectProtocolInvalidNonceException => ("nonce", "the ID token's nonce is not this sign-in's (a replayed or foreign token)."),
                SecurityTokenException => ("token", "the ID token is not valid."),
                _ => ((string, string)?)null,
            };
            if (described is { } found)
            {
                return found;
            }
        }

        var text = failure?.Message ?? string.Empty;
        if (text.Contains("Correlation failed", StringComparison.Ordinal) || text.Contains("message.State", StringComparison.Ordinal))
        {
            return ("state", "this sign-in's state does not match this browser: start again from the sign-in page.");
        }

        if (text.Contains("Message contains error", StringComparison.Ordinal))
        {
            return ("provider_error", "the identity provider refused the sign-in.");
        }

        if (text.Contains("IDX20803", StringComparison.Ordinal) || failure is HttpRequestException || failure?.InnerException is HttpRequestException)
        {
            return ("discovery", "the identity provider's configuration could not be read.");
        }

        if (failure is InvalidOperationException && text.Contains("client secret", StringComparison.Ordinal))
        {
            return ("client_secret", text);
        }

        return ("other", "the sign-in failed (" + (failure?.GetType().Name ?? "unknown") + ").");
    }
}
