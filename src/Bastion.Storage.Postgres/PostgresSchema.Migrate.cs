using System.Globalization;
using Npgsql;

namespace Bastion.Storage.Postgres;

public static partial class PostgresSchema
{
    /// <summary>
    /// The advisory lock every Bastion server takes before it reads or changes the schema ("Bastion" and 1 as bytes):
    /// servers starting together apply each step once, the later ones waiting and then finding it done.
    /// </summary>
    public const long MigrationLock = 4783231223066488321;

    /// <summary>Brings the database to the newest schema this binary knows; returns the version reached.</summary>
    /// <exception cref="DatabaseOpenException">The database cannot be opened.</exception>
    /// <exception cref="InvalidOperationException">The database was written by a newer Bastion.</exception>
    public static Task<int> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct) => MigrateAsync(dataSource, Migrations, ct);

    internal static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, IReadOnlyList<string> migrations, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(migrations);
        await using var connection = await PostgresConnections.OpenAsync(dataSource, ct);
        while (true)
        {
            // One step per transaction (PostgreSQL's DDL is transactional): a crash leaves whole steps only.
            await using var tx = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLock});", ct);
            await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY);", ct);
            var version = await CurrentVersionAsync(connection, ct);
            if (version > migrations.Count)
            {
                var database = DatabaseUrl.Redacted(new NpgsqlConnectionStringBuilder(dataSource.ConnectionString));
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{database} has schema version {version}, newer than this Bastion knows ({migrations.Count}); run a newer Bastion."));
            }

            if (version == migrations.Count)
            {
                await tx.CommitAsync(ct);
                return version;
            }

            await ExecuteAsync(connection, migrations[version], ct);
            await ExecuteAsync(connection, string.Create(CultureInfo.InvariantCulture,
                $"INSERT INTO schema_version (version) VALUES ({version + 1});"), ct);
            await tx.CommitAsync(ct);
        }
    }

    /// <summary>The version the database is at; 0 before the first step.</summary>
    internal static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var cmd = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version;", connection);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
