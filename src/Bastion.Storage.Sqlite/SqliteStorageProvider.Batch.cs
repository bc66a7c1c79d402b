using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>Batch operation jobs: plain rows written by the one writer connection (a job writes at its own pace).</summary>
public sealed partial class SqliteStorageProvider : IBatchStore
{
    private const string BatchColumns = "namespace_id, job_key, state, start_time, close_time, total, completed, failed, cursor, request, shard_id";

    public Task<bool> InsertBatchAsync(BatchRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = $"""
                INSERT INTO batch_operations ({BatchColumns})
                VALUES ($ns, $job, $state, $start, $close, $total, $completed, $failed, $cursor, $request, $shard)
                ON CONFLICT (namespace_id, job_key) DO NOTHING;
                """;
            cmd.Parameters.AddWithValue("$ns", record.NamespaceId);
            cmd.Parameters.AddWithValue("$job", record.JobKey);
            cmd.Parameters.AddWithValue("$state", record.State);
            cmd.Parameters.AddWithValue("$start", record.StartTime.Ticks);
            cmd.Parameters.AddWithValue("$close", record.CloseTime is { } close ? close.Ticks : DBNull.Value);
            cmd.Parameters.AddWithValue("$total", record.Total);
            cmd.Parameters.AddWithValue("$completed", record.Completed);
            cmd.Parameters.AddWithValue("$failed", record.Failed);
            cmd.Parameters.AddWithValue("$cursor", (object?)record.Cursor ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$request", record.Request);
            cmd.Parameters.AddWithValue("$shard", (object?)record.ShardId ?? DBNull.Value);
            return cmd.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    public Task<BatchRecord?> GetBatchAsync(string namespaceId, string jobKey, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {BatchColumns} FROM batch_operations WHERE namespace_id = $ns AND job_key = $job;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        cmd.Parameters.AddWithValue("$job", jobKey);
        return ReadBatches(cmd).FirstOrDefault();
    }, cancellationToken);

    public Task<IReadOnlyList<BatchRecord>> ListBatchesAsync(string namespaceId, int limit, (long StartTicks, string JobKey)? after, CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<BatchRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"""
            SELECT {BatchColumns} FROM batch_operations
            WHERE namespace_id = $ns AND ($after IS NULL OR (start_time, job_key) < ($after, $afterJob))
            ORDER BY start_time DESC, job_key DESC LIMIT $limit;
            """;
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        cmd.Parameters.AddWithValue("$after", after is { } a ? a.StartTicks : DBNull.Value);
        cmd.Parameters.AddWithValue("$afterJob", after is { } b ? b.JobKey : DBNull.Value);
        cmd.Parameters.AddWithValue("$limit", limit);
        return ReadBatches(cmd);
    }, cancellationToken);

    public Task<IReadOnlyList<BatchRecord>> RunningBatchesAsync(int shardId, bool withUnassigned, CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<BatchRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {BatchColumns} FROM batch_operations WHERE state = 1 AND (shard_id = $shard OR ($unassigned AND shard_id IS NULL));";
        cmd.Parameters.AddWithValue("$shard", shardId);
        cmd.Parameters.AddWithValue("$unassigned", withUnassigned);
        return ReadBatches(cmd);
    }, cancellationToken);

    public Task<int> CountRunningBatchesAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM batch_operations WHERE namespace_id = $ns AND state = 1;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }, cancellationToken);

    public Task<int> DeleteClosedBatchesAsync(string namespaceId, DateTime closedBefore, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "DELETE FROM batch_operations WHERE namespace_id = $ns AND state <> 1 AND close_time < $before;";
            cmd.Parameters.AddWithValue("$ns", namespaceId);
            cmd.Parameters.AddWithValue("$before", closedBefore.Ticks);
            return cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<bool> UpdateRunningBatchAsync(
        string namespaceId, string jobKey, int state, DateTime? closeTime, long total, long completed, long failed, string? cursor, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = """
                UPDATE batch_operations SET state = $state, close_time = $close, total = $total, completed = $completed,
                    failed = $failed, cursor = $cursor
                WHERE namespace_id = $ns AND job_key = $job AND state = 1;
                """;
            cmd.Parameters.AddWithValue("$ns", namespaceId);
            cmd.Parameters.AddWithValue("$job", jobKey);
            cmd.Parameters.AddWithValue("$state", state);
            cmd.Parameters.AddWithValue("$close", closeTime is { } close ? close.Ticks : DBNull.Value);
            cmd.Parameters.AddWithValue("$total", total);
            cmd.Parameters.AddWithValue("$completed", completed);
            cmd.Parameters.AddWithValue("$failed", failed);
            cmd.Parameters.AddWithValue("$cursor", (object?)cursor ?? DBNull.Value);
            return cmd.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    private static List<BatchRecord> ReadBatches(SqliteCommand cmd)
    {
        using var reader = cmd.ExecuteReader();
        var result = new List<BatchRecord>();
        while (reader.Read())
        {
            result.Add(new BatchRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetInt32(2),
                new DateTime(reader.GetInt64(3), DateTimeKind.Utc),
                reader.IsDBNull(4) ? null : new DateTime(reader.GetInt64(4), DateTimeKind.Utc),
                reader.GetInt64(5),
                reader.GetInt64(6),
                reader.GetInt64(7),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                (byte[])reader[9]) { ShardId = reader.IsDBNull(10) ? null : reader.GetInt32(10) });
        }

        return result;
    }
}
