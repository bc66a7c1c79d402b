using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Sign-in state every node of a cluster shares (<see cref="ISignInStore"/>): sealed values and used SAML assertion ids.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task PutSealedAsync(string name, string value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand(
                "INSERT INTO sealed_values (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value;", connection);
            cmd.Parameters.AddWithValue("name", name);
            cmd.Parameters.AddWithValue("value", value);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task DeleteSealedAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("DELETE FROM sealed_values WHERE name = @name;", connection);
            cmd.Parameters.AddWithValue("name", name);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<SealedValue>> ListSealedAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("SELECT name, value FROM sealed_values WHERE starts_with(name, @prefix) ORDER BY name;", connection);
            cmd.Parameters.AddWithValue("prefix", prefix);
            return await RowsAsync(cmd, reader => new SealedValue(reader.GetString(0), reader.GetString(1)), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<bool> UseOnceAsync(string id, DateTime expires, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return ReadAsync(async connection =>
        {
            // One statement, so two nodes given the same assertion at once cannot both count it as new: the row's lock
            // makes the second wait for the first and then find a use that stands. An expired use is replaced.
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    // Expired rows other nodes are not deleting at this moment (no waiting on each other's locks).
                    new NpgsqlBatchCommand("""
                        DELETE FROM used_assertions WHERE assertion_id IN (
                            SELECT assertion_id FROM used_assertions WHERE expires_at <= @now AND assertion_id <> @id LIMIT 100 FOR UPDATE SKIP LOCKED);
                        """)
                    {
                        Parameters = { new NpgsqlParameter("now", now.Ticks), new NpgsqlParameter("id", id) },
                    },
                    new NpgsqlBatchCommand("""
                        INSERT INTO used_assertions (assertion_id, expires_at) VALUES (@id, @expires)
                        ON CONFLICT (assertion_id) DO UPDATE SET expires_at = excluded.expires_at WHERE used_assertions.expires_at <= @now;
                        """)
                    {
                        Parameters = { new NpgsqlParameter("id", id), new NpgsqlParameter("expires", expires.Ticks), new NpgsqlParameter("now", now.Ticks) },
                    },
                },
            };
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return batch.BatchCommands[1].RecordsAffected == 1;
        }, cancellationToken);
    }
}
