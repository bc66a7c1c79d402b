using System.Security.Cryptography;
using System.Text;
using Bastion.Security.Authorization;

namespace Bastion.Security.Sessions;

/// <summary>
/// A signed-in web UI session as the server keeps it: who signed in and how (<see cref="Method"/>: an API key, whose
/// public id is kept, or single sign-on, the user's id), when, and the hash of its CSRF token. The caller's access is
/// looked up again on every call. Neither the session id nor the CSRF token is kept, only their hashes.
/// </summary>
public sealed class UiSession
{
    /// <summary>Signed in with an API key's secret.</summary>
    public const string ApiKeyMethod = "api-key";

    /// <summary>Signed in through the account's OpenID Connect provider.</summary>
    public const string OidcMethod = "oidc";

    /// <summary>Signed in through the account's SAML 2.0 identity provider.</summary>
    public const string SamlMethod = "saml";

    private readonly byte[] _csrfHash;
    private long _lastSeenTicks;

    internal UiSession(string idHash, Principal signedInAs, string method, bool mfa, DateTimeOffset created, byte[] csrfHash)
    {
        if (method == ApiKeyMethod ? signedInAs.ApiKeyId is null : signedInAs.Type != PrincipalType.User)
        {
            throw new ArgumentException("A UI session is signed in with an API key, or by single sign-on as a user.", nameof(signedInAs));
        }

        IdHash = idHash;
        SignedInAs = signedInAs;
        Method = method;
        Mfa = mfa;
        Created = created;
        _csrfHash = csrfHash;
        _lastSeenTicks = created.UtcTicks;
    }

    /// <summary>The hex SHA-256 of the session id: the session's key in the store (the id itself is kept nowhere).</summary>
    public string IdHash { get; }

    /// <summary>The public id of the API key the session was signed in with (never its secret); null for single sign-on.</summary>
    public string? ApiKeyId => Method == ApiKeyMethod ? SignedInAs.ApiKeyId : null;

    /// <summary>How the session was signed in: <see cref="ApiKeyMethod"/>, <see cref="OidcMethod"/> or <see cref="SamlMethod"/>.</summary>
    public string Method { get; }

    /// <summary>Whether the identity provider said the person signed in with multiple factors.</summary>
    public bool Mfa { get; }

    /// <summary>Who signed in, with the access they had then (for the sign-out record; calls look their access up again).</summary>
    public Principal SignedInAs { get; }

    public DateTimeOffset Created { get; }

    public DateTimeOffset LastSeen => new(Interlocked.Read(ref _lastSeenTicks), TimeSpan.Zero);

    /// <summary>Whether <paramref name="presented"/> is this session's CSRF token, compared in constant time.</summary>
    public bool CsrfMatches(string? presented) =>
        !string.IsNullOrEmpty(presented) && CryptographicOperations.FixedTimeEquals(Hash(presented), _csrfHash);

    internal byte[] CsrfHash => _csrfHash;

    internal void Touch(DateTimeOffset now) => Interlocked.Exchange(ref _lastSeenTicks, now.UtcTicks);

    internal static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
