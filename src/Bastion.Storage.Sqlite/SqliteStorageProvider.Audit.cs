using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>The audit log: rows (encoded above, <see cref="AuditRecordCodec"/>) appended inside commits, read on pooled connections.</summary>
public sealed partial class SqliteStorageProvider
{
    /// <summary>
    /// Chains the batch's records after the head as it is inside this transaction (which holds the database's write
    /// lock), so every writer — the server's group committer, a CLI on the same file — extends the one chain.
    /// </summary>
    private void InsertAudit(SqliteTransaction tx, CommitBatch batch)
    {
        if (batch.Audit.Count == 0)
        {
            return;
        }

        foreach (var record in batch.SealAudit(ReadHead(_writer, tx)))
        {
            var cmd = Command(tx, """
                INSERT INTO audit_log (seq, emit_time, account, namespace_id, data, hash)
                VALUES ($seq, $time, $account, $ns, $data, $hash);
                """);
            cmd.Parameters.AddWithValue("$seq", record.Sequence);
            cmd.Parameters.AddWithValue("$time", record.EmitTime.Ticks);
            cmd.Parameters.AddWithValue("$account", (object?)record.Account ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ns", (object?)record.NamespaceId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$data", record.Data);
            cmd.Parameters.AddWithValue("$hash", record.Hash);
            cmd.ExecuteNonQuery();
        }
    }

    public Task<AuditAnchor> ReadAuditHeadAsync(CancellationToken cancellationToken) => ReadAsync(connection => ReadHead(connection), cancellationToken);

    public Task<AuditAnchor> ReadAuditAnchorAsync(CancellationToken cancellationToken) => ReadAsync(connection => ReadAnchor(connection), cancellationToken);

    public Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadAsync<IReadOnlyList<StoredAuditRecord>>(connection =>
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = """
                SELECT seq, emit_time, account, namespace_id, data, hash FROM audit_log
                WHERE seq > $after AND emit_time >= $from AND emit_time < $to
                  AND ($account IS NULL OR account = $account) AND ($ns IS NULL OR namespace_id = $ns)
                ORDER BY seq LIMIT $limit;
                """;
            cmd.Parameters.AddWithValue("$after", query.AfterSequence);
            cmd.Parameters.AddWithValue("$from", (query.From ?? DateTime.MinValue).Ticks);
            cmd.Parameters.AddWithValue("$to", (query.To ?? DateTime.MaxValue).Ticks);
            cmd.Parameters.AddWithValue("$account", (object?)query.Account ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ns", (object?)query.NamespaceId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$limit", query.Limit);
            using var reader = cmd.ExecuteReader();
            var result = new List<StoredAuditRecord>();
            while (reader.Read())
            {
                result.Add(new StoredAuditRecord(
                    reader.GetInt64(0),
                    new DateTime(reader.GetInt64(1), DateTimeKind.Utc),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    (byte[])reader[4],
                    (byte[])reader[5]));
            }

            return result;
        }, cancellationToken);
    }

    public Task<int> DeleteAuditBeforeAsync(DateTime cutoff, int max, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var tx = _writer.BeginTransaction(deferred: false);
            using var last = _writer.CreateCommand();
            last.Transaction = tx;
            last.CommandText = """
                SELECT seq, hash FROM audit_log WHERE seq = (
                    SELECT MAX(seq) FROM (SELECT seq FROM audit_log WHERE emit_time < $cutoff ORDER BY seq LIMIT $max));
                """;
            last.Parameters.AddWithValue("$cutoff", cutoff.Ticks);
            last.Parameters.AddWithValue("$max", max);
            long seq;
            byte[] hash;
            using (var reader = last.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return 0;
                }

                seq = reader.GetInt64(0);
                hash = (byte[])reader[1];
            }

            // Only a prefix of the chain is removed, so what remains starts right after the new anchor.
            using var delete = _writer.CreateCommand();
            delete.Transaction = tx;
            delete.CommandText = """
                DELETE FROM audit_log WHERE seq <= $seq;
                INSERT INTO audit_anchor (id, seq, hash) VALUES (1, $seq, $hash)
                ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
                """;
            delete.Parameters.AddWithValue("$seq", seq);
            delete.Parameters.AddWithValue("$hash", hash);
            var removed = delete.ExecuteNonQuery() - 1;
            tx.Commit();
            return removed;
        }, cancellationToken);
    }

    public Task<long> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT seq FROM audit_cursors WHERE sink = $sink;";
        cmd.Parameters.AddWithValue("$sink", sink);
        return cmd.ExecuteScalar() is long seq ? seq : 0;
    }, cancellationToken);

    public Task WriteAuditCursorAsync(string sink, long sequence, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = """
                INSERT INTO audit_cursors (sink, seq) VALUES ($sink, $seq)
                ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq;
                """;
            cmd.Parameters.AddWithValue("$sink", sink);
            cmd.Parameters.AddWithValue("$seq", sequence);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    /// <summary>The last record's sequence and hash, else the retention anchor (inside <paramref name="tx"/> when given).</summary>
    private static AuditAnchor ReadHead(SqliteConnection connection, SqliteTransaction? tx = null)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;";
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? new AuditAnchor(reader.GetInt64(0), (byte[])reader[1]) : ReadAnchor(connection, tx);
    }

    private static AuditAnchor ReadAnchor(SqliteConnection connection, SqliteTransaction? tx = null)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT seq, hash FROM audit_anchor WHERE id = 1;";
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? new AuditAnchor(reader.GetInt64(0), (byte[])reader[1]) : new AuditAnchor(0, []);
    }
}
