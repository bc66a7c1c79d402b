using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Reads of runs, their histories and their tasks (all written by <see cref="CommitAsync"/>).</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<string?> GetCurrentRunIdAsync(string namespaceId, string workflowId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT run_id FROM current_executions WHERE namespace_id = @ns AND workflow_id = @wf;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("wf", workflowId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }, cancellationToken);

    public Task<ExecutionRecord?> GetExecutionAsync(string namespaceId, string runId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT workflow_id, version, status, state FROM executions WHERE namespace_id = @ns AND run_id = @run;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("run", runId);
        var rows = await RowsAsync(cmd, r => new ExecutionRecord(namespaceId, r.GetString(0), runId, r.GetInt64(1), r.GetInt32(2), (byte[])r[3]), cancellationToken)
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }, cancellationToken);

    public Task<IReadOnlyList<HistoryBatch>> ReadHistoryAsync(string namespaceId, string runId, long fromEventId, int maxBatches, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT first_event_id, last_event_id, data FROM history
            WHERE namespace_id = @ns AND run_id = @run AND last_event_id >= @from
            ORDER BY first_event_id LIMIT @limit;
            """, connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("run", runId);
        cmd.Parameters.AddWithValue("from", fromEventId);
        cmd.Parameters.AddWithValue("limit", maxBatches);
        return await RowsAsync(cmd, r => new HistoryBatch(r.GetInt64(0), r.GetInt64(1), (byte[])r[2]), cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<IReadOnlyList<ExecutionRecord>> ClosedRunsWithoutTaskAsync(
        int shardId, int taskKind, string? afterRunId, int limit, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT namespace_id, workflow_id, run_id, version, status, state FROM executions e
            WHERE shard_id = @shard AND run_id > @after AND status <> 1
              AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = e.run_id AND t.kind = @kind)
            ORDER BY run_id LIMIT @limit;
            """, connection);
        cmd.Parameters.AddWithValue("shard", shardId);
        cmd.Parameters.AddWithValue("after", afterRunId ?? string.Empty);
        cmd.Parameters.AddWithValue("kind", taskKind);
        cmd.Parameters.AddWithValue("limit", limit);
        return await RowsAsync(
            cmd, r => new ExecutionRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt32(4), (byte[])r[5]), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    /// <summary>A window of a shard's tasks by due time, keyset-paged on (due time, key) as the index orders them.</summary>
    public Task<IReadOnlyList<TaskRecord>> ReadTasksAsync(int shardId, TaskCursor? after, DateTime before, int limit, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        var keyset = after is null ? string.Empty : "AND (visible_time, run_id, kind, event_id, attempt) > (@t, @r, @k, @e, @a)";
        await using var cmd = new NpgsqlCommand($"""
            SELECT namespace_id, workflow_id, run_id, kind, event_id, attempt, visible_time, task_queue
            FROM tasks WHERE shard_id = @shard AND visible_time < @before {keyset}
            ORDER BY visible_time, run_id, kind, event_id, attempt LIMIT @limit;
            """, connection);
        cmd.Parameters.AddWithValue("shard", shardId);
        cmd.Parameters.AddWithValue("before", before.Ticks);
        cmd.Parameters.AddWithValue("limit", limit);
        if (after is not null)
        {
            cmd.Parameters.AddWithValue("t", after.VisibleTime.Ticks);
            cmd.Parameters.AddWithValue("r", after.Key.RunId);
            cmd.Parameters.AddWithValue("k", after.Key.Kind);
            cmd.Parameters.AddWithValue("e", after.Key.EventId);
            cmd.Parameters.AddWithValue("a", after.Key.Attempt);
        }

        return await RowsAsync(cmd, r => new TaskRecord(
            shardId,
            r.GetString(0),
            r.GetString(1),
            r.GetString(2),
            r.GetInt32(3),
            r.GetInt64(4),
            r.GetInt32(5),
            Utc(r.GetInt64(6)),
            r.IsDBNull(7) ? null : r.GetString(7)), cancellationToken).ConfigureAwait(false);
    }, cancellationToken);
}
