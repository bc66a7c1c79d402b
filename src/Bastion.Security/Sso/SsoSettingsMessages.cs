using System.Net;
using Bastion.Api.Cloud.V1;
using Bastion.Engine.Errors;
using Bastion.Security.Identity;
using MfaRule = Bastion.Security.Identity.MfaRule;

namespace Bastion.Security.Sso;

/// <summary>
/// The SSO settings API's messages (<c>bastion.cloud.v1.SsoService</c>) and the stored settings, both ways, with the
/// rules a change must meet: one place for the API's handler and the command line's database form, so both refuse the
/// same input with the same words. The client secret is never in a message that leaves the server, only whether one is kept.
/// </summary>
public static class SsoSettingsMessages
{
    /// <summary>The settings as the API shows them: a secret's source, never a secret.</summary>
    public static SsoSettings ToProto(SsoSettingsEntry settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var proto = new SsoSettings
        {
            PeopleApiKeySignIn = settings.PeopleApiKeySignIn,
            JitUsers = settings.JitUsers,
            RequireMfa = settings.RequireMfa switch { MfaRule.Off => Api.Cloud.V1.MfaRule.Off, MfaRule.All => Api.Cloud.V1.MfaRule.All, _ => Api.Cloud.V1.MfaRule.Owners },
            MfaValues = { settings.MfaValues },
            Version = settings.Version,
        };
        if (settings.Oidc is { } oidc)
        {
            proto.Oidc = new OidcProvider
            {
                Issuer = oidc.Issuer,
                ClientId = oidc.ClientId,
                ClientSecretFile = oidc.ClientSecretFile ?? string.Empty,
                ClientSecretEnv = oidc.ClientSecretEnvironment ?? string.Empty,
                ClientSecretStored = oidc.ClientSecretStored,
                GroupsClaim = oidc.GroupsClaim ?? string.Empty,
                Scopes = { oidc.Scopes },
                Enabled = oidc.Enabled,
            };
        }

        if (settings.Saml is { } saml)
        {
            proto.Saml = new SamlProvider
            {
                IdpMetadata = saml.IdpMetadata,
                SpEntityId = saml.SpEntityId,
                EmailAttribute = saml.EmailAttribute ?? string.Empty,
                GroupsAttribute = saml.GroupsAttribute ?? string.Empty,
                Enabled = saml.Enabled,
            };
        }

        return proto;
    }

    /// <summary>An account's settings before any were set: no provider, the default rules.</summary>
    public static SsoSettingsEntry Empty(string account) => new() { Id = SsoSettingsEntry.IdOf(account), Account = account };

    /// <summary><paramref name="current"/> with the rules <paramref name="request"/> sets; the rest unchanged.</summary>
    public static SsoSettingsEntry WithRules(SsoSettingsEntry current, UpdateSsoRulesRequest request)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(request);
        var values = request.MfaValues.Select(v => v.Trim()).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (request.MfaValues.Count > 0 && values.Count == 0)
        {
            throw ServiceException.InvalidArgument("mfa_values must name at least one amr or acr value when given.");
        }

        return current with
        {
            PeopleApiKeySignIn = request.HasPeopleApiKeySignIn ? request.PeopleApiKeySignIn : current.PeopleApiKeySignIn,
            JitUsers = request.HasJitUsers ? request.JitUsers : current.JitUsers,
            RequireMfa = request.RequireMfa switch
            {
                Api.Cloud.V1.MfaRule.Unspecified => current.RequireMfa,
                Api.Cloud.V1.MfaRule.Off => MfaRule.Off,
                Api.Cloud.V1.MfaRule.Owners => MfaRule.Owners,
                Api.Cloud.V1.MfaRule.All => MfaRule.All,
                var other => throw ServiceException.InvalidArgument($"require_mfa {other} is not a rule (off, owners or all)."),
            },
            MfaValues = values.Count > 0 ? values : current.MfaValues,
        };
    }

    /// <summary>The OpenID Connect provider <paramref name="request"/> describes, turned on; its secret (if given) is kept apart.</summary>
    public static OidcSettings Oidc(SetOidcProviderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sources = new[] { request.ClientSecret, request.ClientSecretFile, request.ClientSecretEnv }.Count(s => s.Length > 0);
        if (sources > 1)
        {
            throw ServiceException.InvalidArgument("Give one of client_secret, client_secret_file and client_secret_env, not both.");
        }

        var file = request.ClientSecretFile.Trim();
        if (file.Length > 0 && !Path.IsPathFullyQualified(file))
        {
            throw ServiceException.InvalidArgument($"client_secret_file {ServiceException.Quote(file, 200)} must be an absolute path (the server reads it).");
        }

        if (request.ClientSecretEnv.Length > 0 && request.ClientSecretEnv.Trim().Length == 0)
        {
            throw ServiceException.InvalidArgument("client_secret_env must name a variable.");
        }

        return new OidcSettings(
            ValidUrl(request.Issuer, "issuer"),
            request.ClientId.Trim() is { Length: > 0 } id ? id : throw ServiceException.InvalidArgument("client_id must not be empty."),
            file.Length > 0 ? file : null,
            request.ClientSecretEnv.Trim() is { Length: > 0 } variable ? variable : null,
            request.GroupsClaim.Trim() is { Length: > 0 } claim ? claim : null,
            request.Scopes.Select(s => s.Trim()).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList(),
            Enabled: true)
        {
            ClientSecretStored = request.ClientSecret.Length > 0,
        };
    }

    /// <summary>The SAML identity provider <paramref name="request"/> describes, turned on.</summary>
    public static SamlSettings Saml(SetSamlProviderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var source = request.IdpMetadata.Trim();
        if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            ValidUrl(source, "idp_metadata");
        }
        else if (!Path.IsPathFullyQualified(source))
        {
            throw ServiceException.InvalidArgument($"idp_metadata {ServiceException.Quote(source, 200)} must be an https URL or an absolute file path (the server reads it).");
        }

        return new SamlSettings(
            source,
            request.SpEntityId.Trim() is { Length: > 0 } id ? id : throw ServiceException.InvalidArgument("sp_entity_id must not be empty."),
            request.EmailAttribute.Trim() is { Length: > 0 } email ? email : null,
            request.GroupsAttribute.Trim() is { Length: > 0 } groups ? groups : null,
            Enabled: true);
    }

    /// <summary><paramref name="current"/> with one provider turned off; NOT_FOUND when it was never set up.</summary>
    public static SsoSettingsEntry Disabled(SsoSettingsEntry? current, string account, SsoProtocol protocol) => protocol switch
    {
        SsoProtocol.Oidc => current?.Oidc is { } oidc ? current with { Oidc = oidc with { Enabled = false } }
            : throw ServiceException.NotFound($"Account {account} has no OpenID Connect provider set up."),
        SsoProtocol.Saml => current?.Saml is { } saml ? current with { Saml = saml with { Enabled = false } }
            : throw ServiceException.NotFound($"Account {account} has no SAML provider set up."),
        _ => throw ServiceException.InvalidArgument("protocol must be SSO_PROTOCOL_OIDC or SSO_PROTOCOL_SAML."),
    };

    /// <summary>An absolute https URL without query or fragment (plain http only on a loopback address: development, tests).</summary>
    private static string ValidUrl(string value, string field)
    {
        var text = value.Trim();
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw ServiceException.InvalidArgument($"{field} {ServiceException.Quote(value, 200)} must be an absolute https URL without query or fragment.");
        }

        var loopback = uri.IsLoopback || IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
        return uri.Scheme == "https" || loopback
            ? text
            : throw ServiceException.InvalidArgument($"{field} {text} must use https (plain http only for a provider on a loopback address).");
    }
}
