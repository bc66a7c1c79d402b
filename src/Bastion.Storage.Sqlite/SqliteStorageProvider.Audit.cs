using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>
/// The audit log's chains: rows (encoded above, <see cref="AuditRecordCodec"/>) appended inside commits, each chain's
/// head and retention anchor a row of <c>audit_chains</c>; read on pooled connections.
/// </summary>
public sealed partial class SqliteStorageProvider
{
    /// <summary>
    /// Chains each chain's records after its head as it is inside this transaction (which holds the database's write
    /// lock), so every writer — the server's group committer, a CLI on the same file — extends the same chains.
    /// </summary>
    private void InsertAudit(SqliteTransaction tx, CommitBatch batch)
    {
        var commitTime = DateTime.UtcNow.Ticks;
        foreach (var append in batch.Audit)
        {
            var head = ReadHead(tx, append.Chain);
            var records = batch.SealAudit(append, head);
            if (records.Count == 0)
            {
                continue;
            }

            foreach (var record in records)
            {
                var cmd = Command(tx, """
                    INSERT INTO audit_log (chain_id, seq, commit_time, emit_time, account, namespace_id, data, hash)
                    VALUES ($chain, $seq, $commit, $time, $account, $ns, $data, $hash);
                    """);
                cmd.Parameters.AddWithValue("$chain", append.Chain);
                cmd.Parameters.AddWithValue("$seq", record.Sequence);
                cmd.Parameters.AddWithValue("$commit", commitTime);
                cmd.Parameters.AddWithValue("$time", record.EmitTime.Ticks);
                cmd.Parameters.AddWithValue("$account", (object?)record.Account ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$ns", (object?)record.NamespaceId ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$data", record.Data);
                cmd.Parameters.AddWithValue("$hash", record.Hash);
                cmd.ExecuteNonQuery();
            }

            var moveHead = Command(tx, """
                INSERT INTO audit_chains (chain_id, head_seq, head_hash, anchor_seq, anchor_hash) VALUES ($chain, $seq, $hash, 0, X'')
                ON CONFLICT (chain_id) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash;
                """);
            moveHead.Parameters.AddWithValue("$chain", append.Chain);
            moveHead.Parameters.AddWithValue("$seq", records[^1].Sequence);
            moveHead.Parameters.AddWithValue("$hash", records[^1].Hash);
            moveHead.ExecuteNonQuery();
        }
    }

    public Task<IReadOnlyList<AuditChainHead>> ListAuditChainsAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<AuditChainHead>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT chain_id, head_seq, head_hash, anchor_seq, anchor_hash FROM audit_chains ORDER BY chain_id;";
        using var reader = cmd.ExecuteReader();
        var result = new List<AuditChainHead>();
        while (reader.Read())
        {
            result.Add(ChainOf(reader));
        }

        return result;
    }, cancellationToken);

    public Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadAsync<IReadOnlyList<StoredAuditRecord>>(connection =>
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"""
                SELECT {AuditColumns} FROM audit_log
                WHERE chain_id = $chain AND seq > $after AND emit_time >= $from AND emit_time < $to
                  AND ($account IS NULL OR account = $account) AND ($ns IS NULL OR namespace_id = $ns)
                ORDER BY seq LIMIT $limit;
                """;
            cmd.Parameters.AddWithValue("$chain", query.Chain);
            cmd.Parameters.AddWithValue("$after", query.AfterSequence);
            cmd.Parameters.AddWithValue("$from", (query.From ?? DateTime.MinValue).Ticks);
            cmd.Parameters.AddWithValue("$to", (query.To ?? DateTime.MaxValue).Ticks);
            cmd.Parameters.AddWithValue("$account", (object?)query.Account ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ns", (object?)query.NamespaceId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$limit", query.Limit);
            return AuditRows(cmd);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<StoredAuditRecord>> ReadAuditEmittedAtAsync(string account, DateTime emitTime, int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<StoredAuditRecord>>(connection =>
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"SELECT {AuditColumns} FROM audit_log WHERE emit_time = $emit AND account = $account LIMIT $limit;";
            cmd.Parameters.AddWithValue("$emit", emitTime.Ticks);
            cmd.Parameters.AddWithValue("$account", account);
            cmd.Parameters.AddWithValue("$limit", limit);
            return AuditRows(cmd);
        }, cancellationToken);

    /// <summary>The columns <see cref="AuditRows"/> reads, in its order.</summary>
    private const string AuditColumns = "chain_id, seq, emit_time, account, namespace_id, data, hash, commit_time";

    private static List<StoredAuditRecord> AuditRows(SqliteCommand cmd)
    {
        using var reader = cmd.ExecuteReader();
        var result = new List<StoredAuditRecord>();
        while (reader.Read())
        {
            result.Add(new StoredAuditRecord(
                reader.GetString(0),
                reader.GetInt64(1),
                new DateTime(reader.GetInt64(2), DateTimeKind.Utc),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                (byte[])reader[5],
                (byte[])reader[6]) { CommitTime = new DateTime(reader.GetInt64(7), DateTimeKind.Utc) });
        }

        return result;
    }

    public Task<int> DeleteAuditBeforeAsync(string chain, DateTime cutoff, int max, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var tx = _writer.BeginTransaction(deferred: false);
            using var last = _writer.CreateCommand();
            last.Transaction = tx;
            last.CommandText = """
                SELECT seq, hash FROM audit_log WHERE chain_id = $chain AND seq = (
                    SELECT MAX(seq) FROM (SELECT seq FROM audit_log WHERE chain_id = $chain AND emit_time < $cutoff ORDER BY seq LIMIT $max));
                """;
            last.Parameters.AddWithValue("$chain", chain);
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
                DELETE FROM audit_log WHERE chain_id = $chain AND seq <= $seq;
                UPDATE audit_chains SET anchor_seq = $seq, anchor_hash = $hash WHERE chain_id = $chain;
                """;
            delete.Parameters.AddWithValue("$chain", chain);
            delete.Parameters.AddWithValue("$seq", seq);
            delete.Parameters.AddWithValue("$hash", hash);
            var removed = delete.ExecuteNonQuery() - 1;
            tx.Commit();
            return removed;
        }, cancellationToken);
    }

    public Task<AuditPosition> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT chain_id, seq FROM audit_cursors WHERE sink = $sink;";
        cmd.Parameters.AddWithValue("$sink", sink);
        using var reader = cmd.ExecuteReader();
        var after = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            after[reader.GetString(0)] = reader.GetInt64(1);
        }

        return new AuditPosition(after);
    }, cancellationToken);

    public Task WriteAuditCursorAsync(string sink, AuditPosition position, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(position);
        return WriteAsync(() =>
        {
            using var tx = _writer.BeginTransaction(deferred: false);
            foreach (var (chain, seq) in position.Chains)
            {
                using var cmd = _writer.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO audit_cursors (sink, chain_id, seq) VALUES ($sink, $chain, $seq)
                    ON CONFLICT (sink, chain_id) DO UPDATE SET seq = excluded.seq;
                    """;
                cmd.Parameters.AddWithValue("$sink", sink);
                cmd.Parameters.AddWithValue("$chain", chain);
                cmd.Parameters.AddWithValue("$seq", seq);
                cmd.ExecuteNonQuery();
            }

            tx.Commit();
        }, cancellationToken);
    }

    /// <summary>The chain's head as stored inside the commit's transaction (sequence 0 for a chain new to the database).</summary>
    private AuditAnchor ReadHead(SqliteTransaction tx, string chain)
    {
        var cmd = Command(tx, "SELECT head_seq, head_hash FROM audit_chains WHERE chain_id = $chain;");
        cmd.Parameters.AddWithValue("$chain", chain);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? new AuditAnchor(reader.GetInt64(0), (byte[])reader[1]) : new AuditAnchor(0, []);
    }

    private static AuditChainHead ChainOf(SqliteDataReader reader) => new(
        reader.GetString(0),
        new AuditAnchor(reader.GetInt64(1), (byte[])reader[2]),
        new AuditAnchor(reader.GetInt64(3), (byte[])reader[4]));
}
