using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The audit log: one hash chain ('legacy', the chain the contracts know until issue 14 step 3) whose head is a row of
/// <c>audit_chains</c>. A commit appending records locks that row (<c>FOR UPDATE</c>) before it reads the head, so two
/// writers on one database (a server and a CLI) extend one chain and never fork it; retention moves the anchor there.
/// </summary>
public sealed partial class PostgresStorageProvider
{
    private const string AuditChain = "legacy";

    private readonly AuditCodecSlot _auditCodec = new();

    /// <summary>
    /// Encrypts the audit records' data at rest (their details name workflows, task queues, signals). The hash chain
    /// stays over the plain canonical JSON; readers get the plain record.
    /// </summary>
    public void UseAuditCodec(IRecordCodec codec) => _auditCodec.Use(codec);

    /// <summary>The same, made only when a record is first written or read (a CLI command may never need the master key).</summary>
    public void UseAuditCodec(Func<IRecordCodec> codec) => _auditCodec.Use(codec);

    /// <summary>Seals <paramref name="records"/> after <paramref name="head"/> (read under the chain's lock) and moves the head.</summary>
    private void AppendAudit(PostgresCommitPlan plan, IReadOnlyList<PendingAudit> records, AuditAnchor? head)
    {
        if (records.Count == 0)
        {
            return;
        }

        var last = head ?? throw new InvalidOperationException("The audit chain's head was not read.");
        var now = DateTime.UtcNow.Ticks;
        plan.Transition = 0;
        foreach (var pending in records)
        {
            var record = pending.Seal(last.Sequence + 1, last.Hash);
            last = new AuditAnchor(record.Sequence, record.Hash);
            plan.Add("""
                INSERT INTO audit_log (chain_id, seq, commit_time, emit_time, account, namespace_id, data, hash)
                VALUES (@chain, @seq, @commit, @time, @account, @ns, @data, @hash);
                """)
                .With("chain", AuditChain).With("seq", record.Sequence).With("commit", now).With("time", record.EmitTime.Ticks)
                .With("account", record.Account).With("ns", record.NamespaceId)
                .With("data", _auditCodec.Encode(record.Sequence, record.Data)).With("hash", record.Hash);
        }

        plan.Add("UPDATE audit_chains SET head_seq = @seq, head_hash = @hash WHERE chain_id = @chain;")
            .With("chain", AuditChain).With("seq", last.Sequence).With("hash", last.Hash);
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
                _auditCodec.Decode(r.GetInt64(0), (byte[])r[4]),
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
