using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The audit log's chains (<see cref="AuditChains"/>), each head a row of <c>audit_chains</c>. A commit seals a chain's
/// records after the head it last wrote and moves the head only if it is still that one (<c>UPDATE … WHERE head_seq =
/// @expected</c>, which also waits for the row lock of a writer in flight): when another writer on the database (a CLI,
/// another server) appended meanwhile, nothing is written and the commit seals again after the new heads. So writers
/// extend a chain and never fork it. Retention moves a chain's anchor in the same row. Records arrive encoded
/// (<see cref="AuditRecordCodec"/>, above the providers) and are returned as stored.
/// </summary>
public sealed partial class PostgresStorageProvider
{
    /// <summary>
    /// <paramref name="append"/>'s records sealed and encoded after <paramref name="head"/> (<see cref="CommitBatch.SealAudit"/>), and
    /// the chain's head moved on the condition that it is still <paramref name="head"/>; returns the new head.
    /// </summary>
    private static AuditAnchor AppendAudit(PostgresCommitPlan plan, CommitBatch batch, AuditAppend append, AuditAnchor head, long commitTime)
    {
        var records = batch.SealAudit(append, head);
        var last = records.Count == 0 ? head : new AuditAnchor(records[^1].Sequence, records[^1].Hash);

        // The head first, so its row lock orders the writers; when it moved, the rows below may collide with the other
        // writer's: they do nothing then (rather than abort the batch) and the whole commit is rolled back and sealed again.
        plan.Owner = PostgresCommitPlan.AuditChain;
        plan.Add("UPDATE audit_chains SET head_seq = @seq, head_hash = @hash WHERE chain_id = @chain AND head_seq = @expected;", "The audit chain's head moved.")
            .With("chain", append.Chain).With("seq", last.Sequence).With("hash", last.Hash).With("expected", head.Sequence);
        foreach (var record in records)
        {
            plan.Add("""
                INSERT INTO audit_log (chain_id, seq, commit_time, emit_time, account, namespace_id, data, hash)
                VALUES (@chain, @seq, @commit, @time, @account, @ns, @data, @hash) ON CONFLICT DO NOTHING;
                """)
                .With("chain", append.Chain).With("seq", record.Sequence).With("commit", commitTime).With("time", record.EmitTime.Ticks)
                .With("account", record.Account).With("ns", record.NamespaceId).With("data", record.Data).With("hash", record.Hash);
        }

        return last;
    }

    /// <summary>
    /// The heads of <paramref name="chains"/> as stored, read inside the commit's transaction (for the chains this provider
    /// does not know); a chain new to the database gets its head row (sequence 0) first.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, AuditAnchor>> ReadAuditHeadsAsync(NpgsqlTransaction tx, string[] chains, CancellationToken cancellationToken)
    {
        await using var create = new NpgsqlCommand("""
            INSERT INTO audit_chains (chain_id, head_seq, head_hash, anchor_seq) SELECT unnest(@chains), 0, '\x'::bytea, 0
            ON CONFLICT (chain_id) DO NOTHING;
            """, _writer, tx);
        create.Parameters.AddWithValue("chains", chains);
        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("SELECT chain_id, head_seq, head_hash FROM audit_chains WHERE chain_id = ANY(@chains);", _writer, tx);
        cmd.Parameters.AddWithValue("chains", chains);
        var rows = await RowsAsync(cmd, r => (Chain: r.GetString(0), Head: new AuditAnchor(r.GetInt64(1), (byte[])r[2])), cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(r => r.Chain, r => r.Head, StringComparer.Ordinal);
    }

    public Task<IReadOnlyList<AuditChainHead>> ListAuditChainsAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT chain_id, head_seq, head_hash, anchor_seq, anchor_hash FROM audit_chains ORDER BY chain_id COLLATE \"C\";", connection);
        return await RowsAsync(cmd, r => new AuditChainHead(
            r.GetString(0),
            new AuditAnchor(r.GetInt64(1), (byte[])r[2]),
            new AuditAnchor(r.GetInt64(3), r.IsDBNull(4) ? [] : (byte[])r[4])), cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<IReadOnlyList<StoredAuditRecord>> ReadAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filters = (query.Account is null ? string.Empty : " AND account = @account") + (query.NamespaceId is null ? string.Empty : " AND namespace_id = @ns");
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand($"""
                SELECT {AuditColumns} FROM audit_log
                WHERE chain_id = @chain AND seq > @after AND emit_time >= @from AND emit_time < @to{filters}
                ORDER BY seq LIMIT @limit;
                """, connection);
            cmd.Parameters.AddWithValue("chain", query.Chain);
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

            return await RowsAsync(cmd, AuditRow, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<StoredAuditRecord>> ReadAuditEmittedAtAsync(string account, DateTime emitTime, int limit, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand($"SELECT {AuditColumns} FROM audit_log WHERE account = @account AND emit_time = @emit LIMIT @limit;", connection);
            cmd.Parameters.AddWithValue("account", account);
            cmd.Parameters.AddWithValue("emit", emitTime.Ticks);
            cmd.Parameters.AddWithValue("limit", limit);
            return await RowsAsync(cmd, AuditRow, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The columns <see cref="AuditRow"/> reads, in its order.</summary>
    private const string AuditColumns = "chain_id, seq, emit_time, account, namespace_id, data, hash, commit_time";

    private static StoredAuditRecord AuditRow(NpgsqlDataReader r) => new(
        r.GetString(0),
        r.GetInt64(1),
        Utc(r.GetInt64(2)),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        (byte[])r[5],
        (byte[])r[6]) { CommitTime = Utc(r.GetInt64(7)) };

    /// <summary>Removes a prefix of the chain under the head row's lock (so no commit appends meanwhile) and moves the anchor.</summary>
    public Task<int> DeleteAuditBeforeAsync(string chain, DateTime cutoff, int max, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockHead = new NpgsqlCommand("SELECT 1 FROM audit_chains WHERE chain_id = @chain FOR UPDATE;", connection, tx))
        {
            lockHead.Parameters.AddWithValue("chain", chain);
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
        cmd.Parameters.AddWithValue("chain", chain);
        cmd.Parameters.AddWithValue("cutoff", cutoff.Ticks);
        cmd.Parameters.AddWithValue("max", max);
        var removed = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed is long count ? (int)count : 0;
    }, cancellationToken);

    public Task<AuditPosition> ReadAuditCursorAsync(string sink, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT chain_id, seq FROM audit_cursors WHERE sink = @sink;", connection);
        cmd.Parameters.AddWithValue("sink", sink);
        var rows = await RowsAsync(cmd, r => (Chain: r.GetString(0), Seq: r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        return new AuditPosition(rows.ToDictionary(r => r.Chain, r => r.Seq, StringComparer.Ordinal));
    }, cancellationToken);

    public Task WriteAuditCursorAsync(string sink, AuditPosition position, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(position);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("""
                INSERT INTO audit_cursors (sink, chain_id, seq) SELECT @sink, unnest(@chains), unnest(@seqs)
                ON CONFLICT (sink, chain_id) DO UPDATE SET seq = excluded.seq;
                """, connection);
            cmd.Parameters.AddWithValue("sink", sink);
            cmd.Parameters.AddWithValue("chains", position.Chains.Keys.ToArray());
            cmd.Parameters.AddWithValue("seqs", position.Chains.Values.ToArray());
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }
}
