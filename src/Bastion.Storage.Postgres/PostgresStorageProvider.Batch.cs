using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Batch operation jobs: single statements on pooled connections (a job writes at its own pace, only its own row).</summary>
public sealed partial class PostgresStorageProvider
{
    private const string BatchColumns = "namespace_id, job_key, state, start_time, close_time, total, completed, failed, cursor, request, shard_id";

    public Task<bool> InsertBatchAsync(BatchRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand($"""
                INSERT INTO batch_operations ({BatchColumns})
                VALUES (@ns, @job, @state, @start, @close, @total, @completed, @failed, @cursor, @request, @shard)
                ON CONFLICT (namespace_id, job_key) DO NOTHING;
                """, connection);
            cmd.Parameters.AddWithValue("ns", record.NamespaceId);
            cmd.Parameters.AddWithValue("job", record.JobKey);
            cmd.Parameters.AddWithValue("state", record.State);
            cmd.Parameters.AddWithValue("start", record.StartTime.Ticks);
            cmd.Parameters.AddWithValue("close", DbValue(record.CloseTime?.Ticks));
            cmd.Parameters.AddWithValue("total", record.Total);
            cmd.Parameters.AddWithValue("completed", record.Completed);
            cmd.Parameters.AddWithValue("failed", record.Failed);
            cmd.Parameters.AddWithValue("cursor", DbValue(record.Cursor));
            cmd.Parameters.AddWithValue("request", record.Request);
            cmd.Parameters.AddWithValue("shard", DbValue(record.ShardId));
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    public Task<BatchRecord?> GetBatchAsync(string namespaceId, string jobKey, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand($"SELECT {BatchColumns} FROM batch_operations WHERE namespace_id = @ns AND job_key = @job;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("job", jobKey);
        var rows = await RowsAsync(cmd, ReadBatch, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }, cancellationToken);

    /// <summary>Keyset paging on (start time, job key), the key compared by code point as on SQLite (the column is "C").</summary>
    public Task<IReadOnlyList<BatchRecord>> ListBatchesAsync(string namespaceId, int limit, (long StartTicks, string JobKey)? after, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        var keyset = after is null ? string.Empty : "AND (start_time, job_key) < (@after, @afterJob)";
        await using var cmd = new NpgsqlCommand($"""
            SELECT {BatchColumns} FROM batch_operations WHERE namespace_id = @ns {keyset}
            ORDER BY start_time DESC, job_key DESC LIMIT @limit;
            """, connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("limit", limit);
        if (after is var (ticks, job))
        {
            cmd.Parameters.AddWithValue("after", ticks);
            cmd.Parameters.AddWithValue("afterJob", job);
        }

        return await RowsAsync(cmd, ReadBatch, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<IReadOnlyList<BatchRecord>> RunningBatchesAsync(int shardId, bool withUnassigned, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand(
            $"SELECT {BatchColumns} FROM batch_operations WHERE state = 1 AND (shard_id = @shard OR (@unassigned AND shard_id IS NULL));", connection);
        cmd.Parameters.AddWithValue("shard", shardId);
        cmd.Parameters.AddWithValue("unassigned", withUnassigned);
        return await RowsAsync(cmd, ReadBatch, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<int> CountRunningBatchesAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT COUNT(*) FROM batch_operations WHERE namespace_id = @ns AND state = 1;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        return (int)(long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }, cancellationToken);

    public Task<int> DeleteClosedBatchesAsync(string namespaceId, DateTime closedBefore, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM batch_operations WHERE namespace_id = @ns AND state <> 1 AND close_time < @before;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("before", closedBefore.Ticks);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<bool> UpdateRunningBatchAsync(
        string namespaceId, string jobKey, int state, DateTime? closeTime, long total, long completed, long failed, string? cursor, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("""
            UPDATE batch_operations SET state = @state, close_time = @close, total = @total, completed = @completed,
                failed = @failed, cursor = @cursor
            WHERE namespace_id = @ns AND job_key = @job AND state = 1;
            """, connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("job", jobKey);
        cmd.Parameters.AddWithValue("state", state);
        cmd.Parameters.Add(new NpgsqlParameter("close", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = DbValue(closeTime?.Ticks) });
        cmd.Parameters.AddWithValue("total", total);
        cmd.Parameters.AddWithValue("completed", completed);
        cmd.Parameters.AddWithValue("failed", failed);
        cmd.Parameters.Add(new NpgsqlParameter("cursor", NpgsqlTypes.NpgsqlDbType.Text) { Value = DbValue(cursor) });
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }, cancellationToken);

    private static BatchRecord ReadBatch(NpgsqlDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetInt32(2),
        Utc(r.GetInt64(3)),
        r.IsDBNull(4) ? null : Utc(r.GetInt64(4)),
        r.GetInt64(5),
        r.GetInt64(6),
        r.GetInt64(7),
        r.IsDBNull(8) ? null : r.GetString(8),
        (byte[])r[9]) { ShardId = r.IsDBNull(10) ? null : r.GetInt32(10) };
}
