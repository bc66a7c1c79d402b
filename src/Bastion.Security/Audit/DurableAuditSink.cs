using System.Threading.Channels;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Security.Audit;

/// <summary>
/// The durable audit log's one writer (group commit): takes the records of many calls as they arrive, chains them in
/// arrival order (sequence number, predecessor's hash) and appends them in one transaction, one fsync per batch. Each
/// caller awaits its record; a batch that cannot be written fails every call in it, and the chain resumes from what
/// is on disk.
/// </summary>
public sealed partial class DurableAuditSink : IAuditSink, IAsyncDisposable
{
    private const int MaxBatch = 1024;

    private readonly IAuditStore _store;
    private readonly Func<IReadOnlyList<StoredAuditRecord>, Task> _append;
    private readonly string _account;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly Task _loop;
    private AuditAnchor? _head; // read on the first batch: the store may not be migrated when the sink is made

    /// <param name="store">Where records are appended.</param>
    /// <param name="account">The account of records that name none (calls refused before any namespace or identity).</param>
    /// <param name="logger">Where write failures are reported.</param>
    public DurableAuditSink(IAuditStore store, string account, ILogger logger)
        : this(store, records => { store.AppendAudit(records); return Task.CompletedTask; }, account, logger)
    {
    }

    /// <summary>A sink whose batches are appended by <paramref name="append"/>: the server's group committer, so records share its fsync.</summary>
    public DurableAuditSink(IAuditStore store, Func<IReadOnlyList<StoredAuditRecord>, Task> append, string account, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _append = append;
        _account = account;
        _logger = logger;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Raised after each committed batch (export sinks wake up on it).</summary>
    public event EventHandler? Committed;

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var pending = new Pending(record, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);
        return new ValueTask(pending.Done.Task);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var rows = new List<StoredAuditRecord>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            rows.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                var head = _head ??= _store.ReadAuditHead();
                foreach (var pending in batch)
                {
                    var record = pending.Record.Account is null ? pending.Record with { Account = _account } : pending.Record;
                    var sequence = head.Sequence + 1;
                    var data = AuditJson.Serialize(record, sequence, head.Hash);
                    head = new AuditAnchor(sequence, AuditChain.Hash(data));
                    rows.Add(new StoredAuditRecord(sequence, record.EmitTime, record.Account, record.NamespaceId, data, head.Hash));
                }

                await _append(rows).ConfigureAwait(false);
                _head = head;
            }
#pragma warning disable CA1031 // A failed batch fails its callers; the writer must go on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogWriteFailed(_logger, e, batch.Count);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(e);
                }

                _head = null; // resume the chain from what is on disk
                continue;
            }

            foreach (var pending in batch)
            {
                pending.Done.TrySetResult();
            }

            Committed?.Invoke(this, EventArgs.Empty);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Could not write {Count} audit records; their calls fail.")]
    private static partial void LogWriteFailed(ILogger logger, Exception e, int count);

    private sealed record Pending(AuditRecord Record, TaskCompletionSource Done);
}
