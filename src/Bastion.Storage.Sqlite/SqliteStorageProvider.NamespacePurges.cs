using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>Deleted namespaces' purges: the record written with the deletion, then the rows removed a bounded step at a time.</summary>
public sealed partial class SqliteStorageProvider
{
    public INamespacePurgeStore NamespacePurges => this;

    public Task<IReadOnlyList<NamespacePurgeRecord>> ListNamespacePurgesAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<NamespacePurgeRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT namespace_id, name, account, deleted_at, purged FROM namespace_purges ORDER BY deleted_at, namespace_id;";
        using var reader = cmd.ExecuteReader();
        var result = new List<NamespacePurgeRecord>();
        while (reader.Read())
        {
            result.Add(new NamespacePurgeRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), new DateTime(reader.GetInt64(3), DateTimeKind.Utc), reader.GetInt64(4)));
        }

        return result;
    }, cancellationToken);

    public Task<int> PurgeNamespaceStepAsync(string namespaceId, int limit, (int ShardId, long RangeId) fence, CancellationToken cancellationToken) => WriteAsync(() =>
    {
        // BEGIN IMMEDIATE, as a commit: the fence read holds until this short transaction ends.
        using var tx = _writer.BeginTransaction(deferred: false);
        if (!OwnsShard(tx, fence.ShardId, fence.RangeId))
        {
            throw new ShardOwnershipLostException(fence.ShardId, fence.RangeId);
        }

        var deleted = 0;
        var runs = new List<string>();
        using (var select = _writer.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT run_id FROM executions WHERE namespace_id = $ns LIMIT $limit;";
            select.Parameters.AddWithValue("$ns", namespaceId);
            select.Parameters.AddWithValue("$limit", limit);
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                runs.Add(reader.GetString(0));
            }
        }

        foreach (var run in runs.TakeWhile(_ => deleted < limit))
        {
            var tasks = Command(tx, "DELETE FROM tasks WHERE run_id = $run;");
            tasks.Parameters.AddWithValue("$run", run);
            deleted += tasks.ExecuteNonQuery();
            var execution = Command(tx, "DELETE FROM executions WHERE namespace_id = $ns AND run_id = $run;");
            execution.Parameters.AddWithValue("$ns", namespaceId);
            execution.Parameters.AddWithValue("$run", run);
            deleted += execution.ExecuteNonQuery();
        }

        foreach (var table in NamespacePurgeTables.ByNamespace)
        {
            if (deleted >= limit)
            {
                break;
            }

            var cmd = Command(tx, $"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE namespace_id = $ns LIMIT $limit);");
            cmd.Parameters.AddWithValue("$ns", namespaceId);
            cmd.Parameters.AddWithValue("$limit", limit - deleted);
            deleted += cmd.ExecuteNonQuery();
        }

        var progress = Command(tx, "UPDATE namespace_purges SET purged = purged + $n WHERE namespace_id = $ns;");
        progress.Parameters.AddWithValue("$n", deleted);
        progress.Parameters.AddWithValue("$ns", namespaceId);
        progress.ExecuteNonQuery();
        tx.Commit();
        return deleted;
    }, cancellationToken);

    public Task<bool> FinishNamespacePurgeAsync(string namespaceId, CancellationToken cancellationToken) => WriteAsync(() =>
    {
        using var cmd = _writer.CreateCommand();
        cmd.CommandText = "DELETE FROM namespace_purges WHERE namespace_id = $ns;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        return cmd.ExecuteNonQuery() == 1;
    }, cancellationToken);

    public Task<long> CountNamespaceRowsAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT " + string.Join(" + ", NamespacePurgeTables.All.Select(t => $"(SELECT COUNT(*) FROM {t} WHERE namespace_id = $ns)")) + ";";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        return (long)cmd.ExecuteScalar()!;
    }, cancellationToken);

    /// <summary>The deleting write of a namespace records its purge in the same transaction (a second deletion keeps the first record).</summary>
    private void RecordPurge(SqliteTransaction tx, NamespaceWrite write)
    {
        var cmd = Command(tx, """
            INSERT INTO namespace_purges (namespace_id, name, account, deleted_at, purged) VALUES ($id, $name, $account, $at, 0)
            ON CONFLICT (namespace_id) DO NOTHING;
            """);
        cmd.Parameters.AddWithValue("$id", write.Record.Id);
        cmd.Parameters.AddWithValue("$name", write.Record.Name);
        cmd.Parameters.AddWithValue("$account", write.Record.Account);
        cmd.Parameters.AddWithValue("$at", write.DeletedTime.Ticks);
        cmd.ExecuteNonQuery();
    }
}
