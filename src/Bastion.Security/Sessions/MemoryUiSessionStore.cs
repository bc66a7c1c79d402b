using System.Collections.Concurrent;
using Bastion.Storage;

namespace Bastion.Security.Sessions;

/// <summary>Sessions kept in this process only: for <see cref="UiSessions"/> without a database (tests, tools).</summary>
public sealed class MemoryUiSessionStore : IUiSessionStore
{
    private readonly ConcurrentDictionary<string, UiSessionRecord> _rows = new(StringComparer.Ordinal);

    public Task AddSessionAsync(UiSessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        _rows[session.IdHash] = session;
        return Task.CompletedTask;
    }

    public Task<UiSessionRecord?> ReadSessionAsync(string idHash, CancellationToken cancellationToken) =>
        Task.FromResult(_rows.TryGetValue(idHash, out var row) ? row : null);

    public Task TouchSessionAsync(string idHash, DateTime lastSeen, CancellationToken cancellationToken)
    {
        if (_rows.TryGetValue(idHash, out var row) && row.LastSeen < lastSeen)
        {
            _rows.TryUpdate(idHash, row with { LastSeen = lastSeen }, row);
        }

        return Task.CompletedTask;
    }

    public Task<bool> DeleteSessionAsync(string idHash, CancellationToken cancellationToken) => Task.FromResult(_rows.TryRemove(idHash, out _));

    public Task<IReadOnlyList<UiSessionRecord>> ListSessionsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<UiSessionRecord>>([.. _rows.Values]);
}
