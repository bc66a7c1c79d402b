using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Deleted namespaces' purges: the record written with the deletion, then the rows removed a bounded step at a time.</summary>
public sealed partial class PostgresStorageProvider
{
    public INamespacePurgeStore NamespacePurges => this;

    public Task<IReadOnlyList<NamespacePurgeRecord>> ListNamespacePurgesAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT namespace_id, name, account, deleted_at, purged FROM namespace_purges ORDER BY deleted_at, namespace_id;", connection);
        return await RowsAsync(cmd, r => new NamespacePurgeRecord(r.GetString(0), r.GetString(1), r.GetString(2), Utc(r.GetInt64(3)), r.GetInt64(4)), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    /// <summary>
    /// One short transaction on a pooled connection (not the commit writer's): the fence row is read FOR SHARE, as a
    /// commit's, so a shard taken meanwhile waits for this step and a step after the take is refused.
    /// </summary>
    public Task<int> PurgeNamespaceStepAsync(string namespaceId, int limit, (int ShardId, long RangeId) fence, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var check = new NpgsqlCommand("SELECT range_id FROM shards WHERE shard_id = @shard FOR SHARE;", connection, tx))
        {
            check.Parameters.AddWithValue("shard", fence.ShardId);
            if (await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long stored || stored != fence.RangeId)
            {
                throw new ShardOwnershipLostException(fence.ShardId, fence.RangeId);
            }
        }

        // The runs that fit the step, each with its tasks (found by run id), then both deleted in one round trip.
        var deleted = 0;
        var picked = new List<string>();
        await using (var runs = new NpgsqlCommand(
            "SELECT e.run_id, (SELECT COUNT(*) FROM tasks t WHERE t.run_id = e.run_id) FROM executions e WHERE e.namespace_id = @ns LIMIT @limit;", connection, tx))
        {
            runs.Parameters.AddWithValue("ns", namespaceId);
            runs.Parameters.AddWithValue("limit", limit);
            await using var reader = await runs.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (deleted < limit && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                picked.Add(reader.GetString(0));
                deleted += 1 + (int)reader.GetInt64(1);
            }
        }

        if (picked.Count > 0)
        {
            await using var gone = new NpgsqlCommand(
                "DELETE FROM tasks WHERE run_id = ANY(@runs); DELETE FROM executions WHERE namespace_id = @ns AND run_id = ANY(@runs);", connection, tx);
            gone.Parameters.AddWithValue("runs", picked.ToArray());
            gone.Parameters.AddWithValue("ns", namespaceId);
            await gone.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var table in NamespacePurgeTables.ByNamespace)
        {
            if (deleted >= limit)
            {
                break;
            }

            await using var cmd = new NpgsqlCommand(
                $"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE namespace_id = @ns LIMIT @limit));", connection, tx);
            cmd.Parameters.AddWithValue("ns", namespaceId);
            cmd.Parameters.AddWithValue("limit", limit - deleted);
            deleted += await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var progress = new NpgsqlCommand("UPDATE namespace_purges SET purged = purged + @n WHERE namespace_id = @ns;", connection, tx))
        {
            progress.Parameters.AddWithValue("n", (long)deleted);
            progress.Parameters.AddWithValue("ns", namespaceId);
            await progress.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }, cancellationToken);

    public Task<bool> FinishNamespacePurgeAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM namespace_purges WHERE namespace_id = @ns;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }, cancellationToken);

    public Task<long> CountNamespaceRowsAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT " + string.Join(" + ", NamespacePurgeTables.All.Select(t => $"(SELECT COUNT(*) FROM {t} WHERE namespace_id = @ns)")) + ";", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }, cancellationToken);

    /// <summary>The deleting write of a namespace records its purge in the same transaction (a second deletion keeps the first record).</summary>
    private static void RecordPurge(PostgresCommitPlan plan, NamespaceWrite write) =>
        plan.Add("""
            INSERT INTO namespace_purges (namespace_id, name, account, deleted_at, purged) VALUES (@id, @name, @account, @at, 0)
            ON CONFLICT (namespace_id) DO NOTHING;
            """).With("id", write.Record.Id).With("name", write.Record.Name).With("account", write.Record.Account).With("at", write.DeletedTime.Ticks);
}
