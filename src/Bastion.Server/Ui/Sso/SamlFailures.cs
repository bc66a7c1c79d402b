using ITfoxtec.Identity.Saml2;
using ITfoxtec.Identity.Saml2.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Bastion.Server.Ui.Sso;

/// <summary>Why a SAML response was refused, as a reason code for the audit record and a sentence for the person; built from the exception's type, never from the assertion.</summary>
internal static class SamlFailures
{
    public static (string Reason, string Message) Describe(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var text = failure.Message;
        return failure switch
        {
            InvalidSignatureException or System.Security.Cryptography.CryptographicException => ("signature", "the SAML response's signature is missing or does not verify with the identity provider's certificates."),
            SecurityTokenInvalidAudienceException => ("audience", "the assertion is meant for another service provider (audience)."),
            SecurityTokenNotYetValidException => ("not_yet_valid", "the assertion is not valid yet."),
            SecurityTokenExpiredException => ("expired", "the assertion has expired."),
            Saml2RequestException when text.Contains("expired", StringComparison.OrdinalIgnoreCase) => ("expired", "the assertion has expired."),
            Saml2RequestException when text.Contains("exactly one Assertion", StringComparison.Ordinal) => ("wrapping", "the SAML response does not hold exactly one assertion."),
            Saml2RequestException when text.Contains("Issuer", StringComparison.Ordinal) => ("issuer", "the SAML response comes from another issuer than the configured provider."),
            SecurityTokenException => ("token", "the assertion is not valid."),
            Saml2BindingException or FormatException or System.Xml.XmlException => ("malformed", "the SAML response could not be read."),
            _ => ("other", "the sign-in failed (" + failure.GetType().Name + ")."),
        };
    }
}
