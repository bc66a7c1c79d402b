using Bastion.Visibility.Query;
using Bastion.Visibility.Sql;
using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

public sealed partial class SqliteStorageProvider
{
    public Task<IReadOnlyList<VisibilityRow>> ListVisibilityAsync(VisibilityPageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var order = VisibilityOrder.Of(request.Query);
        var filter = SqlFilterWriter.Write(request.Query.Filter, SqliteVisibilityDialect.Instance);
        var after = request.After is null ? string.Empty : "AND " + order.After("$k", "$r");
        var sql = $"""
            SELECT run_id, {order.KeySql}, info FROM visibility
            WHERE namespace_id = $ns AND {filter.Where} {after}
            ORDER BY {order.KeySql} {order.Direction}, run_id {order.Direction} LIMIT $limit;
            """;
        return ReadAsync<IReadOnlyList<VisibilityRow>>(connection =>
        {
            using var cmd = VisibilityCommand(connection, sql, request.NamespaceId, filter);
            cmd.Parameters.AddWithValue("$limit", request.PageSize);
            if (request.After is { } cursor)
            {
                cmd.Parameters.AddWithValue("$k", cursor.OrderKey);
                cmd.Parameters.AddWithValue("$r", cursor.RunId);
            }

            using var reader = cmd.ExecuteReader();
            var rows = new List<VisibilityRow>();
            while (reader.Read())
            {
                rows.Add(new VisibilityRow(reader.GetString(0), reader.GetInt64(1), (byte[])reader[2]));
            }

            return rows;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<(long? Group, long Count)>> CountVisibilityAsync(string namespaceId, ListQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = SqlFilterWriter.Write(query.Filter, SqliteVisibilityDialect.Instance);
        var grouped = query.GroupBy.Count > 0;
        var sql = grouped
            ? $"SELECT status, COUNT(*) FROM visibility WHERE namespace_id = $ns AND {filter.Where} GROUP BY status ORDER BY status;"
            : $"SELECT NULL, COUNT(*) FROM visibility WHERE namespace_id = $ns AND {filter.Where};";
        return ReadAsync<IReadOnlyList<(long? Group, long Count)>>(connection =>
        {
            using var cmd = VisibilityCommand(connection, sql, namespaceId, filter);
            using var reader = cmd.ExecuteReader();
            var result = new List<(long?, long)>();
            while (reader.Read())
            {
                result.Add((reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.GetInt64(1)));
            }

            return result;
        }, cancellationToken);
    }

    private static SqliteCommand VisibilityCommand(SqliteConnection connection, string sql, string namespaceId, SqlFilter filter)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        for (var i = 0; i < filter.Parameters.Count; i++)
        {
            cmd.Parameters.AddWithValue(SqliteVisibilityDialect.Instance.Parameter(i), filter.Parameters[i]);
        }

        return cmd;
    }

    /// <summary>
    /// A run's row is inserted once and then updated in place: only the columns a run changes after its start, so
    /// SQLite touches just the indexes over those (status, close time) instead of deleting and re-inserting the row
    /// in all eight B-trees (<c>INSERT OR REPLACE</c> did that on every close). Not the execution time, fixed when the
    /// run starts: SQLite rewrites an index entry whose column is set even to the same value (a page per close).
    /// </summary>
    private void UpsertVisibility(SqliteTransaction tx, ExecutionWrite write, VisibilityRecord v)
    {
        var cmd = Command(tx, """
            INSERT INTO visibility (namespace_id, run_id, workflow_id, workflow_type, status, start_time,
                execution_time, close_time, execution_duration, history_length, history_size_bytes, state_transition_count,
                task_queue, parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, search_attributes, info)
            VALUES ($ns, $run, $wf, $type, $status, $start, $exec, $close, $duration, $length, $size, $transitions,
                $tq, $pwf, $prun, $rwf, $rrun, $sa, $info)
            ON CONFLICT (namespace_id, run_id) DO UPDATE SET status = excluded.status,
                close_time = excluded.close_time, execution_duration = excluded.execution_duration,
                history_length = excluded.history_length, history_size_bytes = excluded.history_size_bytes,
                state_transition_count = excluded.state_transition_count, search_attributes = excluded.search_attributes,
                info = excluded.info;
            """);
        cmd.Parameters.AddWithValue("$ns", write.NamespaceId);
        cmd.Parameters.AddWithValue("$run", write.RunId);
        cmd.Parameters.AddWithValue("$wf", v.WorkflowId);
        cmd.Parameters.AddWithValue("$type", v.WorkflowType);
        cmd.Parameters.AddWithValue("$status", v.Status);
        cmd.Parameters.AddWithValue("$start", v.StartTime.Ticks);
        cmd.Parameters.AddWithValue("$exec", v.ExecutionTime.Ticks);
        cmd.Parameters.AddWithValue("$close", (object?)v.CloseTime?.Ticks ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$duration", (object?)v.ExecutionDurationNanos ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$length", v.HistoryLength);
        cmd.Parameters.AddWithValue("$size", v.HistorySizeBytes);
        cmd.Parameters.AddWithValue("$transitions", v.StateTransitionCount);
        cmd.Parameters.AddWithValue("$tq", v.TaskQueue);
        cmd.Parameters.AddWithValue("$pwf", (object?)v.ParentWorkflowId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$prun", (object?)v.ParentRunId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$rwf", (object?)v.RootWorkflowId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$rrun", (object?)v.RootRunId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$sa", v.SearchAttributesJson);
        cmd.Parameters.AddWithValue("$info", v.Info);
        cmd.ExecuteNonQuery();
    }
}
