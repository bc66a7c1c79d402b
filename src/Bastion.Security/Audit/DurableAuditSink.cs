using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// The durable audit log. Records are chained and appended by the group committer (one writer, commit order, one
/// fsync per batch shared with workflow state); each caller awaits its record, and a batch that cannot be written
/// fails every call in it. A call that commits a transition has its record written with it (<see cref="Prepare"/>).
/// </summary>
public sealed class DurableAuditSink : IAuditSink, IAsyncDisposable
{
    private readonly GroupCommitter _committer;
    private readonly bool _ownsCommitter;
    private readonly string _account;

    /// <summary>A sink whose records share the server's group committer (and so its transactions).</summary>
    /// <param name="committer">The server's one writer.</param>
    /// <param name="account">The account of records that name none (calls refused before any namespace or identity).</param>
    public DurableAuditSink(GroupCommitter committer, string account)
    {
        ArgumentNullException.ThrowIfNull(committer);
        _committer = committer;
        _account = account;
    }

    /// <summary>A sink with a writer of its own on <paramref name="store"/> (tools and tests).</summary>
    public DurableAuditSink(IStorageProvider store, AuditRecordCodec codec, string account)
        : this(new GroupCommitter(store, codec), account) => _ownsCommitter = true;

    /// <summary>Raised after each committed record (export sinks wake up on it).</summary>
    public event EventHandler? Committed;

    public async ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _committer.AppendAuditAsync(new ChainedAuditRecord(WithAccount(record))).ConfigureAwait(false);
        Committed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>The record of a call about to run, to be written with the first transition the call commits.</summary>
    public PendingAudit? Prepare(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ChainedAuditRecord(WithAccount(record));
    }

    /// <summary>
    /// Looks for the record among those of its account emitted at its instant (indexed; in any chain — a record riding
    /// a transition goes to its shard's), by its log id. Only calls whose record another node left in doubt pay it. A
    /// record this cannot find is written again: never lost, at worst twice.
    /// </summary>
    public async ValueTask<bool> WrittenElsewhereAsync(PendingAudit record, CancellationToken cancellationToken)
    {
        if (record is not ChainedAuditRecord { Record: { Account: { } account } sought })
        {
            return false;
        }

        var candidates = await _committer.Audit.ReadAuditEmittedAtAsync(account, sought.EmitTime, 64, cancellationToken).ConfigureAwait(false);
        return candidates.Any(stored => AuditJson.Parse(stored.Data).Record.LogId == sought.LogId);
    }

    /// <summary>A prepared record was written with a transition: export sinks may read it.</summary>
    public void Landed(PendingAudit record) => Committed?.Invoke(this, EventArgs.Empty);

    private AuditRecord WithAccount(AuditRecord record) => record.Account is null ? record with { Account = _account } : record;

    public async ValueTask DisposeAsync()
    {
        if (_ownsCommitter)
        {
            await _committer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
