namespace Bastion.Storage.Sqlite;

/// <summary>Sign-in state shared by whoever opens the file (<see cref="ISignInStore"/>): sealed values and used SAML assertion ids.</summary>
public sealed partial class SqliteStorageProvider
{
    public Task PutSealedAsync(string name, string value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "INSERT INTO sealed_values (name, value) VALUES ($name, $value) ON CONFLICT (name) DO UPDATE SET value = excluded.value;";
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$value", value);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task DeleteSealedAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "DELETE FROM sealed_values WHERE name = $name;";
            cmd.Parameters.AddWithValue("$name", name);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<SealedValue>> ListSealedAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return ReadAsync<IReadOnlyList<SealedValue>>(connection =>
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT name, value FROM sealed_values WHERE substr(name, 1, length($prefix)) = $prefix ORDER BY name;";
            cmd.Parameters.AddWithValue("$prefix", prefix);
            using var reader = cmd.ExecuteReader();
            var result = new List<SealedValue>();
            while (reader.Read())
            {
                result.Add(new SealedValue(reader.GetString(0), reader.GetString(1)));
            }

            return result;
        }, cancellationToken);
    }

    public Task<bool> UseOnceAsync(string id, DateTime expires, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return WriteAsync(() =>
        {
            using (var sweep = _writer.CreateCommand())
            {
                sweep.CommandText = "DELETE FROM used_assertions WHERE expires_at <= $now AND assertion_id <> $id;";
                sweep.Parameters.AddWithValue("$id", id);
                sweep.Parameters.AddWithValue("$now", now.Ticks);
                sweep.ExecuteNonQuery();
            }

            // An expired use is replaced (the id may be used again); a standing one is left and nothing is returned.
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = """
                INSERT INTO used_assertions (assertion_id, expires_at) VALUES ($id, $expires)
                ON CONFLICT (assertion_id) DO UPDATE SET expires_at = excluded.expires_at WHERE used_assertions.expires_at <= $now
                RETURNING 1;
                """;
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$expires", expires.Ticks);
            cmd.Parameters.AddWithValue("$now", now.Ticks);
            return cmd.ExecuteScalar() is not null;
        }, cancellationToken);
    }
}
