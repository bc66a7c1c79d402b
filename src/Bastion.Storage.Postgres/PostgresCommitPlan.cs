using Npgsql;
using NpgsqlTypes;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The statements of one commit, sent as one <see cref="NpgsqlBatch"/> (one round trip), each tagged with the
/// transition it belongs to (or the audit chain). The first may be the fence, whose rows are the shards' ranges. A
/// statement whose condition is in its SQL (<c>WHERE version = @expected</c>, <c>ON CONFLICT DO NOTHING</c>) names
/// the rejection to report when it affects no row; the provider then rolls back. Statements after a failed condition
/// still run: their effects are rolled back with it.
/// </summary>
internal sealed class PostgresCommitPlan : IAsyncDisposable
{
    /// <summary>The owner of the audit chain's statements: a condition of it failing means the head moved.</summary>
    public const int AuditChain = -1;

    private readonly NpgsqlBatch _batch;
    private readonly List<(NpgsqlBatchCommand Command, int Owner, string Rejection)> _conditions = [];
    private readonly Dictionary<NpgsqlBatchCommand, int> _owners = [];
    private NpgsqlBatchCommand? _fence;

    public PostgresCommitPlan(NpgsqlConnection connection, NpgsqlTransaction transaction) =>
        _batch = new NpgsqlBatch(connection, transaction);

    /// <summary>The transition (or <see cref="AuditChain"/>) the statements added next belong to.</summary>
    public int Owner { get; set; }

    /// <summary>
    /// The fence, first of the batch: a shared lock on the row of every shard written (an acquire, which updates the
    /// row, waits for this transaction; a commit after the acquire reads the new range). Its rows are returned by
    /// <see cref="ExecuteAsync"/>.
    /// </summary>
    public void AddFence(int[] shards)
    {
        if (_batch.BatchCommands.Count > 0)
        {
            throw new InvalidOperationException("The fence must be the first statement of a commit.");
        }

        _fence = new NpgsqlBatchCommand("SELECT shard_id, range_id FROM shards WHERE shard_id = ANY($1) FOR SHARE");
        _fence.Parameters.Add(new NpgsqlParameter { Value = shards });
        _batch.BatchCommands.Add(_fence);
    }

    /// <summary>
    /// Adds a statement written with <c>@name</c> parameters (sent positionally, <see cref="PositionalSql"/>);
    /// <paramref name="rejectUnlessOneRow"/>, when given, is the rejection if it changes no row.
    /// </summary>
    public Statement Add(string sql, string? rejectUnlessOneRow = null)
    {
        var positional = PositionalSql.Of(sql);
        var command = new NpgsqlBatchCommand(positional.Sql);
        for (var i = 0; i < positional.Names.Count; i++)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = DBNull.Value });
        }

        _batch.BatchCommands.Add(command);
        _owners[command] = Owner;
        if (rejectUnlessOneRow is not null)
        {
            _conditions.Add((command, Owner, rejectUnlessOneRow));
        }

        return new Statement(command, positional);
    }

    /// <summary>
    /// Runs every statement and says what failed. A statement that fails outright with a unique violation (a race the
    /// conditions do not cover) is the rejection of its owner — unless a condition earlier in the batch failed, which
    /// is reported instead, since the later failure may only follow from it; anything else is thrown.
    /// </summary>
    public async Task<PlanOutcome> ExecuteAsync(int transitions, CancellationToken cancellationToken)
    {
        var ranges = new Dictionary<int, long>();
        if (_batch.BatchCommands.Count == 0)
        {
            return new PlanOutcome(null, false, ranges);
        }

        try
        {
            await using var reader = await _batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            do
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ranges[reader.GetInt32(0)] = reader.GetInt64(1); // only the fence returns rows
                }
            }
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (PostgresException e) when (e.BatchCommand is { } failed && _owners.TryGetValue(failed, out var owner))
        {
            var earlier = Failed(transitions, ranges, stopAt: failed);
            if (earlier.Rejected is not null || earlier.ChainMoved)
            {
                return earlier;
            }

            if (e.SqlState != PostgresErrorCodes.UniqueViolation)
            {
                throw;
            }

            if (owner == AuditChain)
            {
                return earlier with { ChainMoved = true };
            }

            var rejected = new Exception?[transitions];
            rejected[owner] = new ConditionFailedException(e.MessageText);
            return earlier with { Rejected = rejected };
        }

        return Failed(transitions, ranges, stopAt: null);
    }

    private PlanOutcome Failed(int transitions, Dictionary<int, long> ranges, NpgsqlBatchCommand? stopAt)
    {
        Exception?[]? rejected = null;
        var chainMoved = false;
        foreach (var (command, owner, rejection) in _conditions)
        {
            if (ReferenceEquals(command, stopAt))
            {
                break;
            }

            if (command.RecordsAffected == 1)
            {
                continue;
            }

            if (owner == AuditChain)
            {
                chainMoved = true;
            }
            else if (rejected?[owner] is null)
            {
                rejected ??= new Exception?[transitions];
                rejected[owner] = new ConditionFailedException(rejection);
            }
        }

        return new PlanOutcome(rejected, chainMoved, ranges);
    }

    public ValueTask DisposeAsync() => _batch.DisposeAsync();

    /// <summary>A statement of the plan, to bind its parameters.</summary>
    internal readonly struct Statement(NpgsqlBatchCommand command, PositionalSql sql)
    {
        public Statement With(string name, object? value)
        {
            command.Parameters[sql.IndexOf(name)].Value = value ?? DBNull.Value;
            return this;
        }

        public Statement With(string name, NpgsqlDbType type, object? value)
        {
            var parameter = command.Parameters[sql.IndexOf(name)];
            parameter.NpgsqlDbType = type;
            parameter.Value = value ?? DBNull.Value;
            return this;
        }
    }
}

/// <param name="Rejected">One entry per transition when a condition failed, else null.</param>
/// <param name="ChainMoved">The audit chain's head is not the one the records were sealed after (another writer appended).</param>
/// <param name="Ranges">The fence's rows: each written shard's range id as stored.</param>
internal sealed record PlanOutcome(Exception?[]? Rejected, bool ChainMoved, IReadOnlyDictionary<int, long> Ranges);
