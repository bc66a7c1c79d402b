namespace Bastion.Storage;

/// <summary>
/// The web UI's sessions, in the database so that every node of a cluster knows them (a browser's requests reach any
/// node) and a restart signs nobody out. Rows are keyed by the SHA-256 of the session id (the id itself is never
/// stored); their data is who signed in and how, and the hash of the CSRF token.
/// </summary>
public interface IUiSessionStore
{
    Task AddSessionAsync(UiSessionRecord session, CancellationToken cancellationToken);

    Task<UiSessionRecord?> ReadSessionAsync(string idHash, CancellationToken cancellationToken);

    /// <summary>Moves the session's last use to <paramref name="lastSeen"/> (never back).</summary>
    Task TouchSessionAsync(string idHash, DateTime lastSeen, CancellationToken cancellationToken);

    /// <summary>Removes the session; true when this call removed it (so only one node reports its end).</summary>
    Task<bool> DeleteSessionAsync(string idHash, CancellationToken cancellationToken);

    /// <summary>Every session, for the sweep that ends those whose credentials are gone.</summary>
    Task<IReadOnlyList<UiSessionRecord>> ListSessionsAsync(CancellationToken cancellationToken);
}

/// <summary>A session as stored: the hash of its id, its data (<c>UiSessions</c>' encoding), when it was created and last used.</summary>
public sealed record UiSessionRecord(string IdHash, string Data, DateTime Created, DateTime LastSeen);
