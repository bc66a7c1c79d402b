using Bastion.Storage.Postgres;
using Bastion.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Bastion.Tests.Storage.Postgres;

public sealed class PostgresSchemaTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly string[] s_tables =
    [
        "audit_chains", "audit_cursors", "audit_log", "batch_operations", "cluster_metadata", "cluster_nodes", "current_executions",
        "data_keys", "executions", "history", "identities", "namespace_purges", "namespaces", "nexus_endpoints", "schedules", "schema_version", "sealed_values",
        "shards", "task_queue_configs", "tasks", "ui_sessions", "used_assertions", "visibility", "worker_deployments",
    ];

    [Fact]
    public async Task Migrate_EmptyDatabase_CreatesEveryTable()
    {
        await using var dataSource = (await database.CreateDatabaseAsync()).CreateDataSource();

        var version = await PostgresSchema.MigrateAsync(dataSource, CancellationToken.None);

        Assert.Equal(PostgresSchema.Migrations.Count, version);
        Assert.Equal(s_tables, await TablesAsync(dataSource));
        Assert.Equal(Enumerable.Range(1, version), await VersionsAsync(dataSource));
    }

    [Fact]
    public async Task Migrate_Twice_SecondChangesNothing()
    {
        await using var dataSource = (await database.CreateDatabaseAsync()).CreateDataSource();
        await PostgresSchema.MigrateAsync(dataSource, CancellationToken.None);
        await ExecuteAsync(dataSource, "INSERT INTO cluster_metadata (key, value) VALUES ('cluster_id', 'kept');");

        var version = await PostgresSchema.MigrateAsync(dataSource, CancellationToken.None);

        Assert.Equal(PostgresSchema.Migrations.Count, version);
        Assert.Equal(Enumerable.Range(1, version), await VersionsAsync(dataSource));
        Assert.Equal("kept", await ScalarAsync(dataSource, "SELECT value FROM cluster_metadata WHERE key = 'cluster_id';"));
    }

    [Fact]
    public async Task Migrate_DatabaseAtAnEarlierStep_AppliesOnlyTheLaterSteps()
    {
        await using var dataSource = (await database.CreateDatabaseAsync()).CreateDataSource();
        string[] first = ["CREATE TABLE one (x integer);"];
        await PostgresSchema.MigrateAsync(dataSource, first, CancellationToken.None);

        // Step 1 again would fail (the table exists): only step 2 may run.
        var version = await PostgresSchema.MigrateAsync(dataSource, [.. first, "CREATE TABLE two (y integer);"], CancellationToken.None);

        Assert.Equal(2, version);
        Assert.Equal(["one", "schema_version", "two"], await TablesAsync(dataSource));
    }

    [Fact]
    public async Task Migrate_TwoServersAtOnce_BothWaitForTheLock_AndTheStepsRunOnce()
    {
        var url = await database.CreateDatabaseAsync();
        await using var first = url.CreateDataSource();
        await using var second = url.CreateDataSource();

        // Hold the migration lock, so both migrations are provably waiting on it at the same time.
        await using var holder = await first.OpenConnectionAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockCmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresSchema.MigrationLock});", holder))
        {
            await lockCmd.ExecuteNonQueryAsync();
        }

        var migrations = new[] { first, second }.Select(source => PostgresSchema.MigrateAsync(source, CancellationToken.None)).ToArray();
        var bothWaiting = await Eventually.HoldsAsync(async () =>
            Convert.ToInt64(await ScalarAsync(first, "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                + "WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted;"),
                System.Globalization.CultureInfo.InvariantCulture) == 2);
        await hold.RollbackAsync();
        var versions = await Task.WhenAll(migrations);

        Assert.True(bothWaiting, "both migrations should have waited for the advisory lock");
        Assert.All(versions, v => Assert.Equal(PostgresSchema.Migrations.Count, v));
        Assert.Equal(Enumerable.Range(1, PostgresSchema.Migrations.Count), await VersionsAsync(first));
        Assert.Equal(s_tables, await TablesAsync(first));
    }

    [Fact]
    public async Task Migrate_DatabaseFromANewerBastion_IsRefused()
    {
        var url = await database.CreateDatabaseAsync();
        await using var dataSource = url.CreateDataSource();
        await PostgresSchema.MigrateAsync(dataSource, CancellationToken.None);
        var newer = PostgresSchema.Migrations.Count + 1;
        await ExecuteAsync(dataSource, $"INSERT INTO schema_version (version) VALUES ({newer});");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresSchema.MigrateAsync(dataSource, CancellationToken.None));

        Assert.Equal(
            $"{url} has schema version {newer}, newer than this Bastion knows ({PostgresSchema.Migrations.Count}); run a newer Bastion.",
            e.Message);
    }

    /// <summary>
    /// Migration 1 keeps every column the SQLite store keeps (so the provider stores the same things), except where
    /// the design moves it: its audit anchor is a chain's head row. (The task table splits into transfer and timer
    /// queues with task ids, issue 14 step 4.)
    /// SQLite's binary columns are bytea here.
    /// </summary>
    [Fact]
    public async Task Migration1_KeepsEveryColumnOfTheSqliteSchema()
    {
        await using var dataSource = (await database.CreateDatabaseAsync()).CreateDataSource();
        await PostgresSchema.MigrateAsync(dataSource, CancellationToken.None);
        var postgres = await ColumnTypesAsync(dataSource);
        var moved = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["audit_anchor"] = ["audit_chains"],
        };
        var renamed = new Dictionary<(string, string), string>
        {
            [("audit_chains", "seq")] = "anchor_seq",
            [("audit_chains", "hash")] = "anchor_hash",
            [("audit_chains", "id")] = "chain_id",
        };

        var missing = new List<string>();
        var wrongType = new List<string>();
        foreach (var ((table, column), sqliteType) in SqliteColumns())
        {
            foreach (var target in moved.GetValueOrDefault(table, [table]))
            {
                var name = renamed.GetValueOrDefault((target, column), column);
                if (!postgres.TryGetValue((target, name), out var type))
                {
                    missing.Add($"{target}.{name}");
                }
                else if (sqliteType == "BLOB" && type != "bytea")
                {
                    wrongType.Add($"{target}.{name}");
                }
            }
        }

        Assert.Empty(missing);
        Assert.Empty(wrongType);
    }

    [Fact]
    public async Task Migration1_TimesAreTicks_AttributesAreJsonb()
    {
        await using var dataSource = (await database.CreateDatabaseAsync()).CreateDataSource();
        await PostgresSchema.MigrateAsync(dataSource, CancellationToken.None);

        var types = await ColumnTypesAsync(dataSource);

        Assert.Equal("jsonb", types[("visibility", "search_attributes")]);
        Assert.All(types.Where(t => t.Key.Column.EndsWith("_time", StringComparison.Ordinal)), t => Assert.Equal("bigint", t.Value));
        Assert.Equal("bigint", types[("tasks", "visible_time")]);
        Assert.Equal("bigint", types[("shards", "lease_until")]);
    }

    private static async Task<List<string>> TablesAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;");
        await using var reader = await cmd.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    private static async Task<List<int>> VersionsAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand("SELECT version FROM schema_version ORDER BY version;");
        await using var reader = await cmd.ExecuteReaderAsync();
        var versions = new List<int>();
        while (await reader.ReadAsync())
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    private static async Task<Dictionary<(string Table, string Column), string>> ColumnTypesAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public';");
        await using var reader = await cmd.ExecuteReaderAsync();
        var columns = new Dictionary<(string, string), string>();
        while (await reader.ReadAsync())
        {
            columns[(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
        }

        return columns;
    }

    /// <summary>The SQLite store's final schema: every migration applied to an empty in-memory database.</summary>
    private static Dictionary<(string Table, string Column), string> SqliteColumns()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        foreach (var step in SqliteSchema.Migrations)
        {
            using var migrate = connection.CreateCommand();
            migrate.CommandText = step;
            migrate.ExecuteNonQuery();
        }

        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table';";
        using var reader = cmd.ExecuteReader();
        var columns = new Dictionary<(string, string), string>();
        while (reader.Read())
        {
            columns[(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
        }

        return columns;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        return await cmd.ExecuteScalarAsync();
    }
}
