using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>The web UI's sessions (<see cref="IUiSessionStore"/>), shared by whoever opens the file.</summary>
public sealed partial class SqliteStorageProvider
{
    public Task AddSessionAsync(UiSessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "INSERT INTO ui_sessions (id_hash, data, created, last_seen) VALUES ($id, $data, $created, $seen);";
            cmd.Parameters.AddWithValue("$id", session.IdHash);
            cmd.Parameters.AddWithValue("$data", session.Data);
            cmd.Parameters.AddWithValue("$created", session.Created.Ticks);
            cmd.Parameters.AddWithValue("$seen", session.LastSeen.Ticks);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<UiSessionRecord?> ReadSessionAsync(string idHash, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id_hash, data, created, last_seen FROM ui_sessions WHERE id_hash = $id;";
        cmd.Parameters.AddWithValue("$id", idHash);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? SessionOf(reader) : null;
    }, cancellationToken);

    public Task TouchSessionAsync(string idHash, DateTime lastSeen, CancellationToken cancellationToken) => WriteAsync(() =>
    {
        using var cmd = _writer.CreateCommand();
        cmd.CommandText = "UPDATE ui_sessions SET last_seen = $seen WHERE id_hash = $id AND last_seen < $seen;";
        cmd.Parameters.AddWithValue("$id", idHash);
        cmd.Parameters.AddWithValue("$seen", lastSeen.Ticks);
        cmd.ExecuteNonQuery();
    }, cancellationToken);

    public Task<bool> DeleteSessionAsync(string idHash, CancellationToken cancellationToken) => WriteAsync(() =>
    {
        using var cmd = _writer.CreateCommand();
        cmd.CommandText = "DELETE FROM ui_sessions WHERE id_hash = $id;";
        cmd.Parameters.AddWithValue("$id", idHash);
        return cmd.ExecuteNonQuery() == 1;
    }, cancellationToken);

    public Task<IReadOnlyList<UiSessionRecord>> ListSessionsAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<UiSessionRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id_hash, data, created, last_seen FROM ui_sessions ORDER BY id_hash;";
        using var reader = cmd.ExecuteReader();
        var result = new List<UiSessionRecord>();
        while (reader.Read())
        {
            result.Add(SessionOf(reader));
        }

        return result;
    }, cancellationToken);

    private static UiSessionRecord SessionOf(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), new DateTime(reader.GetInt64(2), DateTimeKind.Utc), new DateTime(reader.GetInt64(3), DateTimeKind.Utc));
}
