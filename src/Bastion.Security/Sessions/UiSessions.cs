using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Bastion.Security.Authorization;

namespace Bastion.Security.Sessions;

/// <summary>
/// The web UI's sessions, in memory (a restart signs everyone out). A session id and its CSRF token are 256 random
/// bits each, handed to the browser once at sign-in; only their SHA-256 hashes are kept, so the table reveals no
/// usable id. A session ends at sign-out, after <see cref="UiSessionOptions.IdleTimeout"/> without use, or
/// <see cref="UiSessionOptions.AbsoluteTimeout"/> after sign-in, whichever comes first.
/// </summary>
public sealed class UiSessions(UiSessionOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, UiSession> _byIdHash = new(StringComparer.Ordinal);

    /// <summary>Live sessions (tests, diagnostics); ended ones may linger until looked up or swept.</summary>
    public int Count => _byIdHash.Count;

    public UiSessionOptions Options => options;

    /// <summary>A new session for a caller who proved an API key's secret: the session and the two secrets for the browser.</summary>
    public (UiSession Session, string Id, string CsrfToken) Create(Principal signedInAs)
    {
        ArgumentNullException.ThrowIfNull(signedInAs);
        var now = time.GetUtcNow();
        Sweep(now);
        var id = NewSecret();
        var csrf = NewSecret();
        var session = new UiSession(signedInAs, now, UiSession.Hash(csrf));
        _byIdHash[Key(id)] = session;
        return (session, id, csrf);
    }

    /// <summary>The live session <paramref name="id"/> names, now marked used; null when there is none or it timed out.</summary>
    public UiSession? Find(string? id)
    {
        if (string.IsNullOrEmpty(id) || !_byIdHash.TryGetValue(Key(id), out var session))
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (Expired(session, now))
        {
            _byIdHash.TryRemove(new KeyValuePair<string, UiSession>(Key(id), session));
            return null;
        }

        session.Touch(now);
        return session;
    }

    /// <summary>Ends the session <paramref name="id"/> names; its cookie no longer works. Returns the session ended, if any.</summary>
    public UiSession? End(string? id) =>
        !string.IsNullOrEmpty(id) && _byIdHash.TryRemove(Key(id), out var session) ? session : null;

    private bool Expired(UiSession session, DateTimeOffset now) =>
        now - session.Created >= options.AbsoluteTimeout || now - session.LastSeen >= options.IdleTimeout;

    // Sessions nobody comes back for would stay forever: each sign-in drops the timed-out ones.
    private void Sweep(DateTimeOffset now)
    {
        foreach (var entry in _byIdHash)
        {
            if (Expired(entry.Value, now))
            {
                _byIdHash.TryRemove(entry);
            }
        }
    }

    private static string NewSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Key(string id) => Convert.ToHexStringLower(UiSession.Hash(id));
}
