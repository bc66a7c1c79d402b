using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>
/// The embedded provider. One writer connection (WAL, <c>synchronous=FULL</c>: a commit is on disk when it returns);
/// reads use pooled connections of their own so they never wait for the writer. In-memory mode keeps one
/// connection for everything. SQLite's calls are synchronous (local and short): each task is complete when the call
/// returns.
/// </summary>
public sealed partial class SqliteStorageProvider
    : IStorageProvider, IShardStore, IMembershipStore, IExecutionStore, ITaskStore, IVisibilityStore, IMetadataStore, IScheduleStore, IBatchStore, IAuditStore, IRecordStore, ISignInStore, IUiSessionStore, INexusEndpointStore, IWorkerDeploymentStore, ITaskQueueConfigStore, INamespacePurgeStore, IDisposable
{
    private readonly string _connectionString;
    private readonly bool _inMemory;
    private readonly SqliteConnection _writer;
    private readonly Lock _writerLock = new();
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    private SqliteStorageProvider(string connectionString, bool inMemory)
    {
        _connectionString = connectionString;
        _inMemory = inMemory;
        _writer = new SqliteConnection(connectionString);
        _writer.Open();
        // The writer's page cache stays valid across its own commits (readers' caches do not): 4 MiB keeps the pages
        // the runs in flight write (their keys grow with time: RunIds) and the B-trees' upper levels. Not larger: SQLite
        // scans the cache's whole hash table at the end of every write transaction, which at 32 MiB cost about 4 % of
        // the server's CPU under load (measured with perf); a miss is a pread from the OS's cache. Checkpoints every
        // 4000 WAL pages (16 MiB; SQLite's default is 1000): a hot page rewritten by many commits is copied into the
        // database once per checkpoint, so fewer checkpoints copy fewer pages (-5 % writes, -3 % CPU per workflow).
        Execute(_writer, inMemory
            ? "PRAGMA foreign_keys=OFF;"
            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA cache_size=-4096; PRAGMA wal_autocheckpoint=4000;");
    }

    /// <summary>A durable store in a file (created if missing).</summary>
    public static SqliteStorageProvider OpenFile(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true };
        return new SqliteStorageProvider(builder.ToString(), inMemory: false);
    }

    /// <summary>A store that lives as long as this object: for tests and SDK launchers.</summary>
    public static SqliteStorageProvider OpenInMemory() =>
        new($"Data Source=bastion-{Guid.NewGuid():N};Mode=Memory;Cache=Shared", inMemory: true);

    public string Name => "sqlite";

    public IShardStore Shards => this;

    public IMembershipStore Membership => this;

    public IExecutionStore Executions => this;

    public ITaskStore Tasks => this;

    public IVisibilityStore Visibility => this;

    public IMetadataStore Metadata => this;

    public IScheduleStore Schedules => this;

    public IBatchStore Batches => this;

    public IAuditStore Audit => this;

    public IRecordStore Records => this;

    public ISignInStore SignIn => this;

    public IUiSessionStore Sessions => this;

    public INexusEndpointStore NexusEndpoints => this;

    public IWorkerDeploymentStore WorkerDeployments => this;

    public ITaskQueueConfigStore TaskQueueConfigs => this;

    public Task<ClusterMetadata> MigrateAsync(int shardCountForNewCluster, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            Execute(_writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
            var version = Convert.ToInt32(Scalar(_writer, "SELECT COALESCE(MAX(version), 0) FROM schema_version;") ?? 0, System.Globalization.CultureInfo.InvariantCulture);
            if (version > SqliteSchema.Migrations.Count)
            {
                throw new InvalidOperationException(
                    $"The database has schema version {version}, newer than this Bastion knows ({SqliteSchema.Migrations.Count}).");
            }

            for (var i = version; i < SqliteSchema.Migrations.Count; i++)
            {
                using var tx = _writer.BeginTransaction();
                Execute(_writer, SqliteSchema.Migrations[i], tx);
                Execute(_writer, $"INSERT INTO schema_version (version) VALUES ({i + 1});", tx);
                tx.Commit();
            }

            Execute(_writer, $"INSERT OR IGNORE INTO cluster_metadata (key, value) VALUES ('shard_count', '{shardCountForNewCluster}');");
            Execute(_writer, $"INSERT OR IGNORE INTO cluster_metadata (key, value) VALUES ('cluster_id', '{Guid.NewGuid()}');");
            return new ClusterMetadata(
                (string)Scalar(_writer, "SELECT value FROM cluster_metadata WHERE key = 'cluster_id';")!,
                Convert.ToInt32(Scalar(_writer, "SELECT value FROM cluster_metadata WHERE key = 'shard_count';"), System.Globalization.CultureInfo.InvariantCulture));
        }, cancellationToken);
    }

    public Task<IReadOnlyList<NamespaceRecord>> ListNamespacesAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<NamespaceRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id, name, account, data FROM namespaces ORDER BY account, name;";
        using var reader = cmd.ExecuteReader();
        var result = new List<NamespaceRecord>();
        while (reader.Read())
        {
            result.Add(new NamespaceRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader[3]));
        }

        return result;
    }, cancellationToken);

    public Task<string?> GetCurrentRunIdAsync(string namespaceId, string workflowId, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT run_id FROM current_executions WHERE namespace_id = $ns AND workflow_id = $wf;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        cmd.Parameters.AddWithValue("$wf", workflowId);
        return cmd.ExecuteScalar() as string;
    }, cancellationToken);

    public Task<ExecutionRecord?> GetExecutionAsync(string namespaceId, string runId, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT workflow_id, version, status, state FROM executions WHERE namespace_id = $ns AND run_id = $run;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        cmd.Parameters.AddWithValue("$run", runId);
        using var reader = cmd.ExecuteReader();
        return reader.Read()
            ? new ExecutionRecord(namespaceId, reader.GetString(0), runId, reader.GetInt64(1), reader.GetInt32(2), (byte[])reader[3])
            : null;
    }, cancellationToken);

    public Task<IReadOnlyList<HistoryBatch>> ReadHistoryAsync(string namespaceId, string runId, long fromEventId, int maxBatches, CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<HistoryBatch>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT first_event_id, last_event_id, data FROM history
            WHERE namespace_id = $ns AND run_id = $run AND last_event_id >= $from
            ORDER BY first_event_id LIMIT $limit;
            """;
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        cmd.Parameters.AddWithValue("$run", runId);
        cmd.Parameters.AddWithValue("$from", fromEventId);
        cmd.Parameters.AddWithValue("$limit", maxBatches);
        using var reader = cmd.ExecuteReader();
        var result = new List<HistoryBatch>();
        while (reader.Read())
        {
            result.Add(new HistoryBatch(reader.GetInt64(0), reader.GetInt64(1), (byte[])reader[2]));
        }

        return result;
    }, cancellationToken);

    public Task<IReadOnlyList<ExecutionRecord>> ClosedRunsWithoutTaskAsync(
        int shardId, int taskKind, string? afterRunId, int limit, CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<ExecutionRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT namespace_id, workflow_id, run_id, version, status, state FROM executions e
            WHERE shard_id = $shard AND run_id > $after AND status <> 1
              AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = e.run_id AND t.kind = $kind)
            ORDER BY run_id LIMIT $limit;
            """;
        cmd.Parameters.AddWithValue("$shard", shardId);
        cmd.Parameters.AddWithValue("$after", afterRunId ?? string.Empty);
        cmd.Parameters.AddWithValue("$kind", taskKind);
        cmd.Parameters.AddWithValue("$limit", limit);
        using var reader = cmd.ExecuteReader();
        var result = new List<ExecutionRecord>();
        while (reader.Read())
        {
            result.Add(new ExecutionRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt32(4), (byte[])reader[5]));
        }

        return result;
    }, cancellationToken);

    public Task<IReadOnlyList<TaskRecord>> ReadTasksAsync(int shardId, TaskCursor? after, DateTime before, int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<TaskRecord>>(connection =>
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"""
                SELECT namespace_id, workflow_id, run_id, kind, event_id, attempt, visible_time, task_queue
                FROM tasks WHERE shard_id = $shard AND visible_time < $before
                {(after is null ? string.Empty : "AND (visible_time, run_id, kind, event_id, attempt) > ($t, $r, $k, $e, $a)")}
                ORDER BY visible_time, run_id, kind, event_id, attempt LIMIT $limit;
                """;
            cmd.Parameters.AddWithValue("$shard", shardId);
            cmd.Parameters.AddWithValue("$before", before.Ticks);
            cmd.Parameters.AddWithValue("$limit", limit);
            if (after is not null)
            {
                cmd.Parameters.AddWithValue("$t", after.VisibleTime.Ticks);
                cmd.Parameters.AddWithValue("$r", after.Key.RunId);
                cmd.Parameters.AddWithValue("$k", after.Key.Kind);
                cmd.Parameters.AddWithValue("$e", after.Key.EventId);
                cmd.Parameters.AddWithValue("$a", after.Key.Attempt);
            }

            using var reader = cmd.ExecuteReader();
            var result = new List<TaskRecord>();
            while (reader.Read())
            {
                result.Add(new TaskRecord(
                    shardId,
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetInt32(3),
                    reader.GetInt64(4),
                    reader.GetInt32(5),
                    new DateTime(reader.GetInt64(6), DateTimeKind.Utc),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
            }

            return result;
        }, cancellationToken);

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Read(read));
    }

    private Task<T> WriteAsync<T>(Func<T> write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_writerLock)
        {
            return Task.FromResult(write());
        }
    }

    private Task WriteAsync(Action write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_writerLock)
        {
            write();
            return Task.CompletedTask;
        }
    }

    private T Read<T>(Func<SqliteConnection, T> read)
    {
        if (_inMemory)
        {
            lock (_writerLock)
            {
                return read(_writer);
            }
        }

        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return read(connection);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        lock (_writerLock)
        {
            foreach (var cmd in _commands.Values)
            {
                cmd.Dispose();
            }

            _commands.Clear();
            _writer.Dispose();
        }
    }
}
