using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The audit log: one hash chain ('legacy', the chain the contracts know until issue 14 step 3) whose head is a row of
/// <c>audit_chains</c>. A commit seals its records after the head it last wrote and moves the head only if it is still
/// that one (<c>UPDATE … WHERE head_seq = @expected</c>, which also waits for the row lock of a writer in flight): when
/// another writer on the database (a CLI) appended meanwhile, nothing is written and the commit seals again after the
/// new head. So two writers extend one chain and never fork it. Retention moves the anchor in the same row. Records
/// arrive encoded (<see cref="AuditRecordCodec"/>, above the providers) and are returned as stored.
/// </summary>
public sealed partial class PostgresStorageProvider
{
    private const string AuditChain = "legacy";

    /// <summary>
    /// The batch's records sealed and encoded after <paramref name="head"/> (<see cref="CommitBatch.SealAudit"/>), and the
    /// head moved on the condition that it is still <paramref name="head"/>; returns the new head.
    /// </summary>
    private static AuditAnchor AppendAudit(PostgresCommitPlan plan, CommitBatch batch, AuditAnchor head)
    {
        var records = batch.SealAudit(head);
        var last = records.Count == 0 ? head : new AuditAnchor(records[^1].Sequence, records[^1].Hash);

        // The head first, so its row lock orders the writers; when it moved, the rows below may collide with the other
        // writer's: they do nothing then (rather than abort the batch) and the whole commit is rolled back and sealed again.
        plan.Owner = PostgresCommitPlan.AuditChain;
        plan.Add("UPDATE audit_chains SET head_seq = @seq, head_hash = @hash WHERE chain_id = @chain AND head_seq = @expected;", "The audit chain's head moved.")
            .With("chain", AuditChain).With("seq", last.Sequence).With("hash", last.Hash).With("expected", head.Sequence);
        var now = DateTime.UtcNow.Ticks;
        foreach (var record in records)
        {
            plan.Add("""
                INSERT INTO audit_log (chain_id, seq, commit_time, emit_time, account, namespace_id, data, hash)
                VALUES (@chain, @seq, @commit, @time, @account, @ns, @data, @hash) ON CONFLICT DO NOTHING;
                """)
                .With("chain", AuditChain).With("seq", record.Sequence).With("commit", now).With("time", record.EmitTime.Ticks)
                .With("account", record.Account).With("ns", record.NamespaceId).With("data", record.Data).With("hash", record.Hash);
        }

        return last;
    }

    /// <summary>The head as stored, read inside the commit's transaction (when this provider does not know it).</summary>
    private async Task<AuditAnchor> ReadAuditHeadAsync(NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("SELECT head_seq, head_hash FROM audit_chains WHERE chain_id = @chain;", _writer, tx);
        cmd.Parameters.AddWithValue("chain", AuditChain);
        var rows = await RowsAsync(cmd, r => new AuditAnchor(r.GetInt64(0), (byte[])r[1]), cancellationToken).ConfigureAwait(false);
        return rows.Count == 1
            ? rows[0]
            : throw new InvalidOperationException($"The audit chain '{AuditChain}' has no head row: the schema was not migrated by this Bastion.");
    }

    public Task<AuditAnchor> ReadAuditHeadAsync(CancellationToken cancellationToken) => ReadChainAsync("head_seq, head_hash", cancellationToken);

    public Task<AuditAnchor> ReadAuditAnchorAsync(CancellationToken cancellationToken) => ReadChainAsync("anchor_seq, anchor_hash", cancellationToken);

    private Task<AuditAnchor> ReadChainAsync(string columns, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand($"SELECT {columns} FROM audit_chains WHERE chain_id = @chain;", connection);
        cmd.Parameters.AddWithValue("chain", AuditChain);
        var rows = await RowsAsync(cmd, r => new AuditAnchor(r.GetInt64(0), r.IsDBNull(1) ? [] : (byte[])r[1]), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? new AuditAnchor(0, []) : rows[0];
    }, cancellationToken);

    public Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filters = (query.Account is null ? string.Empty : " AND account = @account") + (query.NamespaceId is null ? string.Empty : " AND namespace_id = @ns");
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand($"""
                SELECT seq, emit_time, account, namespace_id, data, hash FROM audit_log
                WHERE chain_id = @chain AND seq > @after AND emit_time >= @from AND emit_time < @to{filters}
                ORDER BY seq LIMIT @limit;
                """, connection);
            cmd.Parameters.AddWithValue("chain", AuditChain);
            cmd.Parameters.AddWithValue("after", query.AfterSequence);
            cmd.Parameters.AddWithValue("from", (query.From ?? DateTime.MinValue).Ticks);
            cmd.Parameters.AddWithValue("to", (query.To ?? DateTime.MaxValue).Ticks);
            cmd.Parameters.AddWithValue("limit", query.Limit);
            if (query.Account is not null)
            {
                cmd.Parameters.AddWithValue("account", query.Account);
            }

            if (query.NamespaceId is not null)
            {
                cmd.Parameters.AddWithValue("ns", query.NamespaceId);
            }

            return await RowsAsync(cmd, r => new StoredAuditRecord(
                r.GetInt64(0),
                Utc(r.GetInt64(1)),
                r.IsDBNull(2) ? null : r.GetString(2),
                r.IsDBNull(3) ? null : r.GetString(3),
                (byte[])r[4],
                (byte[])r[5]), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Removes a prefix of the chain under the head row's lock (so no commit appends meanwhile) and moves the anchor.</summary>
    public Task<int> DeleteAuditBeforeAsync(DateTime cutoff, int max, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockHead = new NpgsqlCommand("SELECT 1 FROM audit_chains WHERE chain_id = @chain FOR UPDATE;", connection, tx))
        {
            lockHead.Parameters.AddWithValue("chain", AuditChain);
            await lockHead.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var cmd = new NpgsqlCommand("""
            WITH removed AS (
                DELETE FROM audit_log WHERE chain_id = @chain AND seq IN (
                    SELECT seq FROM audit_log WHERE chain_id = @chain AND emit_time < @cutoff ORDER BY seq LIMIT @max)
                RETURNING seq, hash),
            last AS (SELECT seq, hash FROM removed ORDER BY seq DESC LIMIT 1)
            UPDATE audit_chains SET anchor_seq = last.seq, anchor_hash = last.hash FROM last
            WHERE chain_id = @chain RETURNING (SELECT count(*) FROM removed);
            """, connection, tx);
        cmd.Parameters.AddWithValue("chain", AuditChain);
        cmd.Parameters.AddWithValue("cutoff", cutoff.Ticks);
        cmd.Parameters.AddWithValue("max", max);
        var removed = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed is long count ? (int)count : 0;
    }, cancellationToken);

    public Task<long> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT seq FROM audit_cursors WHERE sink = @sink AND chain_id = @chain;", connection);
        cmd.Parameters.AddWithValue("sink", sink);
        cmd.Parameters.AddWithValue("chain", AuditChain);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long seq ? seq : 0;
    }, cancellationToken);

    public Task WriteAuditCursorAsync(string sink, long sequence, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO audit_cursors (sink, chain_id, seq) VALUES (@sink, @chain, @seq)
            ON CONFLICT (sink, chain_id) DO UPDATE SET seq = excluded.seq;
            """, connection);
        cmd.Parameters.AddWithValue("sink", sink);
        cmd.Parameters.AddWithValue("chain", AuditChain);
        cmd.Parameters.AddWithValue("seq", sequence);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken);
}
