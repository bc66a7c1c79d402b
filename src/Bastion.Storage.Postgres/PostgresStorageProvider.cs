using System.Globalization;
using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The PostgreSQL provider (docs/storage-design.md §4). Reads run on pooled connections; every commit runs on one
/// dedicated writer connection, one at a time, fenced by a shared lock on the shard rows it writes, so an acquire
/// (which updates the row) waits for commits in flight and every later commit sees the new range.
/// </summary>
/// <remarks>
/// Other writes (batch job progress, keys, cursors, retention) are single statements or short transactions on pooled
/// connections: they touch rows no commit touches, or take the same row lock a commit takes (the audit chain head).
/// </remarks>
public sealed partial class PostgresStorageProvider
    : IStorageProvider, IShardStore, IMembershipStore, IExecutionStore, ITaskStore, IVisibilityStore, IMetadataStore, IScheduleStore, IBatchStore, IAuditStore, IRecordStore, ISignInStore, IUiSessionStore, INexusEndpointStore, IWorkerDeploymentStore, ITaskQueueConfigStore, INamespacePurgeStore
{
    private readonly NpgsqlDataSource _pool;
    private NpgsqlConnection _writer;
    private readonly SemaphoreSlim _writerLock = new(1, 1);

    private PostgresStorageProvider(DatabaseUrl url, NpgsqlDataSource pool, NpgsqlConnection writer)
    {
        Url = url;
        _pool = pool;
        _writer = writer;
    }

    /// <summary>The database, as it may be shown (<see cref="DatabaseUrl.ToString"/> is redacted).</summary>
    public DatabaseUrl Url { get; }

    /// <summary>Opens the pool and the writer connection; the schema is made by <see cref="MigrateAsync"/>.</summary>
    /// <exception cref="DatabaseOpenException">The database cannot be reached or refuses the credentials.</exception>
    public static async Task<PostgresStorageProvider> OpenAsync(DatabaseUrl url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        var settings = url.ToConnectionStringBuilder();

        // The commit's statements are the same few texts over and over: prepared once per connection, by Npgsql.
        settings.MaxAutoPrepare = 64;
        settings.AutoPrepareMinUsages = 2;

        // A pooled connection comes back with no session state to undo (no SET, temp tables or session locks: the
        // migration's advisory lock is transaction-scoped), so Npgsql's reset on return — four statements per read,
        // DISCARD-style — is pure cost: measured as a third of the statements of a workflow.
        settings.NoResetOnClose = true;
        var pool = NpgsqlDataSource.Create(settings);
        try
        {
            var writer = await PostgresConnections.OpenAsync(pool, cancellationToken).ConfigureAwait(false);
            return new PostgresStorageProvider(url, pool, writer);
        }
        catch
        {
            await pool.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public string Name => "postgres";

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

    public async Task<ClusterMetadata> MigrateAsync(int shardCountForNewCluster, CancellationToken cancellationToken)
    {
        await PostgresSchema.MigrateAsync(_pool, cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO cluster_metadata (key, value) VALUES ('shard_count', @shards), ('cluster_id', @cluster)
            ON CONFLICT (key) DO NOTHING;
            SELECT value FROM cluster_metadata WHERE key = 'cluster_id';
            SELECT value FROM cluster_metadata WHERE key = 'shard_count';
            """, connection);
        cmd.Parameters.AddWithValue("shards", shardCountForNewCluster.ToString(CultureInfo.InvariantCulture));
        cmd.Parameters.AddWithValue("cluster", Guid.NewGuid().ToString());
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var clusterId = reader.GetString(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new ClusterMetadata(clusterId, int.Parse(reader.GetString(0), CultureInfo.InvariantCulture));
    }

    private Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => PostgresConnections.OpenAsync(_pool, cancellationToken);

    /// <summary>Runs <paramref name="read"/> on a pooled connection (also used for the writes that need no commit).</summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await read(connection).ConfigureAwait(false);
    }

    /// <summary>Every row of <paramref name="cmd"/>, each mapped by <paramref name="row"/>.</summary>
    private static async Task<IReadOnlyList<T>> RowsAsync<T>(NpgsqlCommand cmd, Func<NpgsqlDataReader, T> row, CancellationToken cancellationToken)
    {
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(row(reader));
        }

        return result;
    }

    private static DateTime Utc(long ticks) => new(ticks, DateTimeKind.Utc);

    private static object DbValue(object? value) => value ?? DBNull.Value;

    public async ValueTask DisposeAsync()
    {
        await _writerLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
            await _pool.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _writerLock.Release();
            _writerLock.Dispose();
        }
    }
}
