using Bastion.Visibility.Query;
using Bastion.Visibility.Sql;
using Npgsql;
using NpgsqlTypes;

namespace Bastion.Storage.Postgres;

/// <summary>Visibility rows: written by commits with the state they reflect, listed with keyset paging, counted.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<IReadOnlyList<VisibilityRow>> ListVisibilityAsync(VisibilityPageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var order = VisibilityOrder.Of(request.Query);
        var filter = SqlFilterWriter.Write(request.Query.Filter, PostgresVisibilityDialect.Instance);
        var after = request.After is null ? string.Empty : "AND " + order.After("@k", "@r");
        var sql = $"""
            SELECT run_id, {order.KeySql}, info FROM visibility
            WHERE namespace_id = @ns AND {filter.Where} {after}
            ORDER BY {order.KeySql} {order.Direction}, run_id {order.Direction} LIMIT @limit;
            """;
        return ReadAsync(async connection =>
        {
            await using var cmd = VisibilityCommand(connection, sql, request.NamespaceId, filter);
            cmd.Parameters.AddWithValue("limit", request.PageSize);
            if (request.After is { } cursor)
            {
                cmd.Parameters.AddWithValue("k", cursor.OrderKey);
                cmd.Parameters.AddWithValue("r", cursor.RunId);
            }

            return await RowsAsync(cmd, r => new VisibilityRow(r.GetString(0), r.GetInt64(1), (byte[])r[2]), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<(long? Group, long Count)>> CountVisibilityAsync(string namespaceId, ListQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = SqlFilterWriter.Write(query.Filter, PostgresVisibilityDialect.Instance);
        var sql = query.GroupBy.Count > 0
            ? $"SELECT status, COUNT(*) FROM visibility WHERE namespace_id = @ns AND {filter.Where} GROUP BY status ORDER BY status;"
            : $"SELECT NULL::integer, COUNT(*) FROM visibility WHERE namespace_id = @ns AND {filter.Where};";
        return ReadAsync(async connection =>
        {
            await using var cmd = VisibilityCommand(connection, sql, namespaceId, filter);
            return await RowsAsync(cmd, r => (r.IsDBNull(0) ? (long?)null : r.GetInt32(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    private static NpgsqlCommand VisibilityCommand(NpgsqlConnection connection, string sql, string namespaceId, SqlFilter filter)
    {
        var cmd = new NpgsqlCommand(sql, connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        for (var i = 0; i < filter.Parameters.Count; i++)
        {
            // The dialect writes @p0, @p1…; the parameter's name is without the '@'.
            cmd.Parameters.AddWithValue(PostgresVisibilityDialect.Instance.Parameter(i)[1..], filter.Parameters[i]);
        }

        return cmd;
    }

    /// <summary>Inserted once, then only the columns a run changes after its start are updated (as on SQLite).</summary>
    private static void UpsertVisibility(PostgresCommitPlan plan, ExecutionWrite write, VisibilityRecord v) =>
        plan.Add("""
            INSERT INTO visibility (namespace_id, run_id, workflow_id, workflow_type, status, start_time,
                execution_time, close_time, execution_duration, history_length, history_size_bytes, state_transition_count,
                task_queue, parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, search_attributes, info)
            VALUES (@ns, @run, @wf, @type, @status, @start, @exec, @close, @duration, @length, @size, @transitions,
                @tq, @pwf, @prun, @rwf, @rrun, @sa, @info)
            ON CONFLICT (namespace_id, run_id) DO UPDATE SET status = excluded.status,
                close_time = excluded.close_time, execution_duration = excluded.execution_duration,
                history_length = excluded.history_length, history_size_bytes = excluded.history_size_bytes,
                state_transition_count = excluded.state_transition_count, search_attributes = excluded.search_attributes,
                info = excluded.info;
            """)
            .With("ns", write.NamespaceId).With("run", write.RunId).With("wf", v.WorkflowId).With("type", v.WorkflowType)
            .With("status", v.Status).With("start", v.StartTime.Ticks).With("exec", v.ExecutionTime.Ticks)
            .With("close", NpgsqlDbType.Bigint, v.CloseTime?.Ticks).With("duration", NpgsqlDbType.Bigint, v.ExecutionDurationNanos)
            .With("length", v.HistoryLength).With("size", v.HistorySizeBytes).With("transitions", v.StateTransitionCount)
            .With("tq", v.TaskQueue).With("pwf", NpgsqlDbType.Text, v.ParentWorkflowId).With("prun", NpgsqlDbType.Text, v.ParentRunId)
            .With("rwf", NpgsqlDbType.Text, v.RootWorkflowId).With("rrun", NpgsqlDbType.Text, v.RootRunId)
            .With("sa", NpgsqlDbType.Jsonb, v.SearchAttributesJson).With("info", v.Info);
}
