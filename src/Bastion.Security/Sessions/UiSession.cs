using System.Security.Cryptography;
using System.Text;
using Bastion.Security.Authorization;

namespace Bastion.Security.Sessions;

/// <summary>
/// A signed-in web UI session as the server keeps it: who signed in (the API key's public id, whose owner's access
/// is looked up again on every call), when, and the hash of its CSRF token. Neither the session id nor the CSRF token
/// is kept, only their hashes.
/// </summary>
public sealed class UiSession
{
    private readonly byte[] _csrfHash;
    private long _lastSeenTicks;

    internal UiSession(Principal signedInAs, DateTimeOffset created, byte[] csrfHash)
    {
        ApiKeyId = signedInAs.ApiKeyId ?? throw new ArgumentException("A UI session is signed in with an API key.", nameof(signedInAs));
        SignedInAs = signedInAs;
        Created = created;
        _csrfHash = csrfHash;
        _lastSeenTicks = created.UtcTicks;
    }

    /// <summary>The public id of the API key the session was signed in with (never its secret).</summary>
    public string ApiKeyId { get; }

    /// <summary>Who signed in, with the access they had then (for the sign-out record; calls look their access up again).</summary>
    public Principal SignedInAs { get; }

    public DateTimeOffset Created { get; }

    public DateTimeOffset LastSeen => new(Interlocked.Read(ref _lastSeenTicks), TimeSpan.Zero);

    /// <summary>Whether <paramref name="presented"/> is this session's CSRF token, compared in constant time.</summary>
    public bool CsrfMatches(string? presented) =>
        !string.IsNullOrEmpty(presented) && CryptographicOperations.FixedTimeEquals(Hash(presented), _csrfHash);

    internal void Touch(DateTimeOffset now) => Interlocked.Exchange(ref _lastSeenTicks, now.UtcTicks);

    internal static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
