using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Bastion.Security.Authorization;

namespace Bastion.Security.Sessions;

/// <summary>
/// The web UI's sessions, in memory (a restart signs everyone out). A session id and its CSRF token are 256 random
/// bits each, handed to the browser once at sign-in; only their SHA-256 hashes are kept, so the table reveals no
/// usable id. A session ends at sign-out, after <see cref="UiSessionOptions.IdleTimeout"/> without use, or
/// <see cref="UiSessionOptions.AbsoluteTimeout"/> after sign-in, whichever comes first, or when what it was signed in
/// with is gone (<see cref="Revoke"/>: the key or user removed, single sign-on turned off). Every end but sign-out is
/// reported to <see cref="Ended"/> (the audit log's session-ended record).
/// </summary>
public sealed class UiSessions(UiSessionOptions options, TimeProvider time)
{
    /// <summary>The reason <see cref="Ended"/> gives for a session that timed out.</summary>
    public const string TimedOut = "timed out";

    private readonly ConcurrentDictionary<string, UiSession> _byIdHash = new(StringComparer.Ordinal);

    /// <summary>A session ended other than by sign-out, and why.</summary>
    public event Action<UiSession, string>? Ended;

    /// <summary>Live sessions (tests, diagnostics); ended ones may linger until looked up or swept.</summary>
    public int Count => _byIdHash.Count;

    public UiSessionOptions Options => options;

    /// <summary>A new session for a caller who proved who they are: the session and the two secrets for the browser.</summary>
    public (UiSession Session, string Id, string CsrfToken) Create(Principal signedInAs, string method = UiSession.ApiKeyMethod, bool mfa = false)
    {
        ArgumentNullException.ThrowIfNull(signedInAs);
        var now = time.GetUtcNow();
        Sweep(null);
        var id = NewSecret();
        var csrf = NewSecret();
        var session = new UiSession(signedInAs, method, mfa, now, UiSession.Hash(csrf));
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
            if (_byIdHash.TryRemove(new KeyValuePair<string, UiSession>(Key(id), session)))
            {
                Ended?.Invoke(session, TimedOut);
            }

            return null;
        }

        session.Touch(now);
        return session;
    }

    /// <summary>Ends the session <paramref name="id"/> names; its cookie no longer works. Returns the session ended, if any.</summary>
    public UiSession? End(string? id) =>
        !string.IsNullOrEmpty(id) && _byIdHash.TryRemove(Key(id), out var session) ? session : null;

    /// <summary>Ends <paramref name="session"/> because what it was signed in with no longer lets it in.</summary>
    public void Revoke(UiSession session, string reason)
    {
        ArgumentNullException.ThrowIfNull(session);
        foreach (var entry in _byIdHash.Where(e => ReferenceEquals(e.Value, session)))
        {
            if (_byIdHash.TryRemove(entry))
            {
                Ended?.Invoke(session, reason);
            }
        }
    }

    /// <summary>
    /// Ends the sessions that timed out, and those <paramref name="revokedReason"/> gives a reason for (what they were
    /// signed in with is gone): run at each sign-in and by the server's timer, so an abandoned session's end is recorded too.
    /// </summary>
    public void Sweep(Func<UiSession, string?>? revokedReason)
    {
        var now = time.GetUtcNow();
        foreach (var entry in _byIdHash)
        {
            var reason = Expired(entry.Value, now) ? TimedOut : revokedReason?.Invoke(entry.Value);
            if (reason is not null && _byIdHash.TryRemove(entry))
            {
                Ended?.Invoke(entry.Value, reason);
            }
        }
    }

    private bool Expired(UiSession session, DateTimeOffset now) =>
        now - session.Created >= options.AbsoluteTimeout || now - session.LastSeen >= options.IdleTimeout;

    private static string NewSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Key(string id) => Convert.ToHexStringLower(UiSession.Hash(id));
}
