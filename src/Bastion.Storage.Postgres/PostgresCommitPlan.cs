using Npgsql;
using NpgsqlTypes;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The statements of one commit, sent as one <see cref="NpgsqlBatch"/> (one round trip), each tagged with the
/// transition it belongs to. A statement whose condition is in its SQL (<c>WHERE version = @expected</c>,
/// <c>ON CONFLICT DO NOTHING</c>) names the rejection to report when it affects no row; the provider then rolls back.
/// </summary>
internal sealed class PostgresCommitPlan : IAsyncDisposable
{
    private readonly NpgsqlBatch _batch;
    private readonly List<(NpgsqlBatchCommand Command, int Transition, string Rejection)> _conditions = [];
    private readonly Dictionary<NpgsqlBatchCommand, int> _owners = [];

    public PostgresCommitPlan(NpgsqlConnection connection, NpgsqlTransaction transaction) =>
        _batch = new NpgsqlBatch(connection, transaction);

    /// <summary>The transition the statements added next belong to.</summary>
    public int Transition { get; set; }

    public bool IsEmpty => _batch.BatchCommands.Count == 0;

    /// <summary>Adds a statement; <paramref name="rejectUnlessOneRow"/>, when given, is the rejection if it changes no row.</summary>
    public Statement Add(string sql, string? rejectUnlessOneRow = null)
    {
        var command = new NpgsqlBatchCommand(sql);
        _batch.BatchCommands.Add(command);
        _owners[command] = Transition;
        if (rejectUnlessOneRow is not null)
        {
            _conditions.Add((command, Transition, rejectUnlessOneRow));
        }

        return new Statement(command);
    }

    /// <summary>
    /// Runs every statement; returns the rejections (one entry per transition, null when all conditions held).
    /// A statement that fails outright (e.g. a constraint) is the rejection of its transition when it is a condition
    /// of the schema's (a unique key) — but a failed condition earlier in the batch is reported instead, since the
    /// later failure may only follow from it; anything else is thrown.
    /// </summary>
    public async Task<Exception?[]?> ExecuteAsync(int transitions, CancellationToken cancellationToken)
    {
        if (IsEmpty)
        {
            return null;
        }

        try
        {
            await _batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.BatchCommand is { } failed && _owners.TryGetValue(failed, out var owner))
        {
            var earlier = Failed(transitions, stopAt: failed);
            if (earlier is not null)
            {
                return earlier;
            }

            if (e.SqlState != PostgresErrorCodes.UniqueViolation)
            {
                throw;
            }

            var rejected = new Exception?[transitions];
            rejected[owner] = new ConditionFailedException(e.MessageText);
            return rejected;
        }

        return Failed(transitions, stopAt: null);
    }

    private Exception?[]? Failed(int transitions, NpgsqlBatchCommand? stopAt)
    {
        Exception?[]? rejected = null;
        foreach (var (command, transition, rejection) in _conditions)
        {
            if (ReferenceEquals(command, stopAt))
            {
                break;
            }

            if (command.RecordsAffected != 1 && rejected?[transition] is null)
            {
                rejected ??= new Exception?[transitions];
                rejected[transition] = new ConditionFailedException(rejection);
            }
        }

        return rejected;
    }

    public ValueTask DisposeAsync() => _batch.DisposeAsync();

    /// <summary>A statement of the plan, to bind its parameters.</summary>
    internal readonly struct Statement(NpgsqlBatchCommand command)
    {
        public Statement With(string name, object? value)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            return this;
        }

        public Statement With(string name, NpgsqlDbType type, object? value)
        {
            command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
            return this;
        }
    }
}
