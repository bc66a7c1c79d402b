namespace Bastion.Security.Identity;

/// <summary>
/// An account's single sign-on for people (one record per account, its id the account's name): the OpenID Connect
/// provider, the SAML 2.0 provider, and the rules every SSO sign-in follows. Holds no secret: the client secret stays on the server's host
/// (<see cref="OidcSettings.ClientSecretFile"/> or <see cref="OidcSettings.ClientSecretEnvironment"/>) and is read
/// when the sign-in starts, or, given through the API, is sealed in the database apart from this record
/// (<see cref="OidcSettings.ClientSecretStored"/>).
/// </summary>
public sealed record SsoSettingsEntry : IdentityEntry
{
    public OidcSettings? Oidc { get; init; }

    public SamlSettings? Saml { get; init; }

    /// <summary>Whether people (users) may sign in to the web UI with an API key. Off: only service accounts and the account's owners (break-glass) may.</summary>
    public bool PeopleApiKeySignIn { get; init; } = true;

    /// <summary>Whether a verified e-mail with no Bastion user creates one (with no role and no namespace access); off by default.</summary>
    public bool JitUsers { get; init; }

    public MfaRule RequireMfa { get; init; } = MfaRule.Owners;

    /// <summary>The <c>amr</c> or <c>acr</c> values that count as multi-factor authentication.</summary>
    public IReadOnlyList<string> MfaValues { get; init; } = ["mfa"];

    /// <summary>The id of an account's record: the account's name (one per account, ids are unique across accounts).</summary>
    public static string IdOf(string account) => account;
}

/// <summary>Who must have signed in to the identity provider with multiple factors.</summary>
public enum MfaRule
{
    /// <summary>Nobody.</summary>
    Off,

    /// <summary>Whoever holds the Owner role (their own or a group's).</summary>
    Owners,

    /// <summary>Everyone who signs in by SSO.</summary>
    All,
}

/// <summary>An OpenID Connect provider (authorization code with PKCE).</summary>
/// <param name="Issuer">The issuer URL; its <c>/.well-known/openid-configuration</c> is read. HTTPS, except on a loopback address.</param>
/// <param name="ClientId">Bastion's client id there; the ID token's audience.</param>
/// <param name="ClientSecretFile">A file on the server's host holding the client secret (none: a public client).</param>
/// <param name="ClientSecretEnvironment">An environment variable of the server holding the client secret.</param>
/// <param name="GroupsClaim">The ID token claim listing the person's groups (none: groups are not read).</param>
/// <param name="Scopes">Scopes asked for besides <c>openid</c> and <c>email</c>.</param>
/// <param name="Enabled">Off: the configuration stays, nobody signs in with it and its sessions end.</param>
public sealed record OidcSettings(
    string Issuer,
    string ClientId,
    string? ClientSecretFile,
    string? ClientSecretEnvironment,
    string? GroupsClaim,
    IReadOnlyList<string> Scopes,
    bool Enabled)
{
    /// <summary>The client secret was given through the API and is kept in the database, sealed (<see cref="Sso.OidcClientSecret"/>); never here.</summary>
    public bool ClientSecretStored { get; init; }
}

/// <summary>A SAML 2.0 identity provider (Bastion the service provider: SP- and IdP-initiated, HTTP-POST responses).</summary>
/// <param name="IdpMetadata">The provider's metadata: an absolute file path on the server's host, or an https URL (http only on loopback).</param>
/// <param name="SpEntityId">Bastion's entity id at the provider: the audience every assertion must name.</param>
/// <param name="EmailAttribute">The attribute holding the person's e-mail (none: the NameID).</param>
/// <param name="GroupsAttribute">The attribute listing the person's groups (none: groups are not read).</param>
/// <param name="Enabled">Off: the configuration stays, nobody signs in with it and its sessions end.</param>
public sealed record SamlSettings(string IdpMetadata, string SpEntityId, string? EmailAttribute, string? GroupsAttribute, bool Enabled);
