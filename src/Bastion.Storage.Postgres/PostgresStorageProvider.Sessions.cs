using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>The web UI's sessions (<see cref="IUiSessionStore"/>), which every node of a cluster reads.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task AddSessionAsync(UiSessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("INSERT INTO ui_sessions (id_hash, data, created, last_seen) VALUES (@id, @data, @created, @seen);", connection);
            cmd.Parameters.AddWithValue("id", session.IdHash);
            cmd.Parameters.AddWithValue("data", session.Data);
            cmd.Parameters.AddWithValue("created", session.Created.Ticks);
            cmd.Parameters.AddWithValue("seen", session.LastSeen.Ticks);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public async Task<UiSessionRecord?> ReadSessionAsync(string idHash, CancellationToken cancellationToken) => (await ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT id_hash, data, created, last_seen FROM ui_sessions WHERE id_hash = @id;", connection);
        cmd.Parameters.AddWithValue("id", idHash);
        return await RowsAsync(cmd, SessionOf, cancellationToken).ConfigureAwait(false);
    }, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    public Task TouchSessionAsync(string idHash, DateTime lastSeen, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("UPDATE ui_sessions SET last_seen = @seen WHERE id_hash = @id AND last_seen < @seen;", connection);
        cmd.Parameters.AddWithValue("id", idHash);
        cmd.Parameters.AddWithValue("seen", lastSeen.Ticks);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<bool> DeleteSessionAsync(string idHash, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM ui_sessions WHERE id_hash = @id;", connection);
        cmd.Parameters.AddWithValue("id", idHash);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }, cancellationToken);

    public Task<IReadOnlyList<UiSessionRecord>> ListSessionsAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT id_hash, data, created, last_seen FROM ui_sessions ORDER BY id_hash COLLATE \"C\";", connection);
        return await RowsAsync(cmd, SessionOf, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    private static UiSessionRecord SessionOf(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), new DateTime(reader.GetInt64(2), DateTimeKind.Utc), new DateTime(reader.GetInt64(3), DateTimeKind.Utc));
}
