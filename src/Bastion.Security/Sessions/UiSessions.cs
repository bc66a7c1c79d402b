using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bastion.Security.Authorization;
using Bastion.Storage;

namespace Bastion.Security.Sessions;

/// <summary>
/// The web UI's sessions, kept in the database (<see cref="IUiSessionStore"/>) so that every node of a cluster knows
/// them — a browser's requests may reach any node — and a restart signs nobody out. A session id and its CSRF token are
/// 256 random bits each, handed to the browser once at sign-in; only their SHA-256 hashes are kept, so the table
/// reveals no usable id. A session ends at sign-out, after <see cref="UiSessionOptions.IdleTimeout"/> without use, or
/// <see cref="UiSessionOptions.AbsoluteTimeout"/> after sign-in, whichever comes first, or when what it was signed in
/// with is gone (<see cref="Revoke"/>: the key or user removed, single sign-on turned off), on every node at once.
/// Every end but sign-out is reported to <see cref="Ended"/> (the audit log's session-ended record) by the one node
/// whose removal of the row took effect.
/// </summary>
/// <remarks>
/// The store's calls are waited for here: SQLite's complete at once, and PostgreSQL's are one indexed row per UI request.
/// A session's last use is written at most once a second.
/// </remarks>
public sealed class UiSessions(UiSessionOptions options, TimeProvider time, IUiSessionStore store)
{
    /// <summary>The reason <see cref="Ended"/> gives for a session that timed out.</summary>
    public const string TimedOut = "timed out";

    private static readonly TimeSpan s_touchGranularity = TimeSpan.FromSeconds(1);

    /// <summary>Sessions in this process only (tests and tools without a database).</summary>
    public UiSessions(UiSessionOptions options, TimeProvider time)
        : this(options, time, new MemoryUiSessionStore())
    {
    }

    /// <summary>A session ended other than by sign-out, and why.</summary>
    public event Action<UiSession, string>? Ended;

    /// <summary>Live sessions (tests, diagnostics); ended ones may linger until looked up or swept.</summary>
    public int Count => Wait(store.ListSessionsAsync(CancellationToken.None)).Count;

    public UiSessionOptions Options => options;

    /// <summary>A new session for a caller who proved who they are: the session and the two secrets for the browser.</summary>
    public (UiSession Session, string Id, string CsrfToken) Create(Principal signedInAs, string method = UiSession.ApiKeyMethod, bool mfa = false)
    {
        ArgumentNullException.ThrowIfNull(signedInAs);
        var now = time.GetUtcNow();
        Sweep(null);
        var id = NewSecret();
        var csrf = NewSecret();
        var session = new UiSession(Key(id), signedInAs, method, mfa, now, UiSession.Hash(csrf));
        Wait(store.AddSessionAsync(new UiSessionRecord(session.IdHash, Encode(session), now.UtcDateTime, now.UtcDateTime), CancellationToken.None));
        return (session, id, csrf);
    }

    /// <summary>The live session <paramref name="id"/> names, now marked used; null when there is none or it timed out.</summary>
    public UiSession? Find(string? id)
    {
        if (string.IsNullOrEmpty(id) || Wait(store.ReadSessionAsync(Key(id), CancellationToken.None)) is not { } row)
        {
            return null;
        }

        var session = Decode(row);
        var now = time.GetUtcNow();
        if (Expired(session, now))
        {
            EndReported(session, TimedOut);
            return null;
        }

        if (now - session.LastSeen >= s_touchGranularity)
        {
            Wait(store.TouchSessionAsync(session.IdHash, now.UtcDateTime, CancellationToken.None));
        }

        session.Touch(now);
        return session;
    }

    /// <summary>Ends the session <paramref name="id"/> names; its cookie no longer works on any node. Returns the session ended, if any.</summary>
    public UiSession? End(string? id)
    {
        if (string.IsNullOrEmpty(id) || Wait(store.ReadSessionAsync(Key(id), CancellationToken.None)) is not { } row)
        {
            return null;
        }

        return Wait(store.DeleteSessionAsync(row.IdHash, CancellationToken.None)) ? Decode(row) : null;
    }

    /// <summary>Ends <paramref name="session"/> because what it was signed in with no longer lets it in.</summary>
    public void Revoke(UiSession session, string reason)
    {
        ArgumentNullException.ThrowIfNull(session);
        EndReported(session, reason);
    }

    /// <summary>
    /// Ends the sessions that timed out, and those <paramref name="revokedReason"/> gives a reason for (what they were
    /// signed in with is gone): run at each sign-in and by the server's timer, so an abandoned session's end is recorded too.
    /// </summary>
    public void Sweep(Func<UiSession, string?>? revokedReason)
    {
        var now = time.GetUtcNow();
        foreach (var row in Wait(store.ListSessionsAsync(CancellationToken.None)))
        {
            var session = Decode(row);
            var reason = Expired(session, now) ? TimedOut : revokedReason?.Invoke(session);
            if (reason is not null)
            {
                EndReported(session, reason);
            }
        }
    }

    private void EndReported(UiSession session, string reason)
    {
        if (Wait(store.DeleteSessionAsync(session.IdHash, CancellationToken.None)))
        {
            Ended?.Invoke(session, reason);
        }
    }

    private bool Expired(UiSession session, DateTimeOffset now) =>
        now - session.Created >= options.AbsoluteTimeout || now - session.LastSeen >= options.IdleTimeout;

    /// <summary>Who signed in (their identity, not their access: calls look that up again), how, and the CSRF token's hash.</summary>
    private static string Encode(UiSession session) => new JsonObject
    {
        ["type"] = session.SignedInAs.Type.ToString(),
        ["id"] = session.SignedInAs.Id,
        ["name"] = session.SignedInAs.Name,
        ["role"] = session.SignedInAs.Role.ToString(),
        ["account"] = session.SignedInAs.Account,
        ["apiKeyId"] = session.SignedInAs.ApiKeyId,
        ["method"] = session.Method,
        ["mfa"] = session.Mfa,
        ["csrf"] = Convert.ToHexStringLower(session.CsrfHash),
    }.ToJsonString();

    private static UiSession Decode(UiSessionRecord row)
    {
        var data = JsonNode.Parse(row.Data)!.AsObject();
        var principal = new Principal(
            Enum.Parse<PrincipalType>(data["type"]!.GetValue<string>()),
            data["id"]!.GetValue<string>(),
            data["name"]!.GetValue<string>(),
            Enum.Parse<AccountRole>(data["role"]!.GetValue<string>()),
            data["account"]!.GetValue<string>())
        {
            ApiKeyId = data["apiKeyId"]?.GetValue<string>(),
        };
        var session = new UiSession(
            row.IdHash,
            principal,
            data["method"]!.GetValue<string>(),
            data["mfa"]!.GetValue<bool>(),
            new DateTimeOffset(row.Created, TimeSpan.Zero),
            Convert.FromHexString(data["csrf"]!.GetValue<string>()));
        session.Touch(new DateTimeOffset(row.LastSeen, TimeSpan.Zero));
        return session;
    }

    private static T Wait<T>(Task<T> task) => task.ConfigureAwait(false).GetAwaiter().GetResult();

    private static void Wait(Task task) => task.ConfigureAwait(false).GetAwaiter().GetResult();

    private static string NewSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Key(string id) => Convert.ToHexStringLower(UiSession.Hash(id));
}
