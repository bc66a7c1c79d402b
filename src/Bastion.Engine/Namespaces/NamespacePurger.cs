using System.Threading.Channels;
using Bastion.Engine.History;
using Bastion.Storage;
using Bastion.Storage.Telemetry;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.Namespaces;

/// <summary>
/// Purges deleted namespaces' rows in the background, as Temporal's namespace-delete workflow deletes a deleted
/// namespace's executions at a bounded rate. A deletion records its purge durably with it (<see cref="INamespacePurgeStore"/>);
/// this job, one per cluster — the holder of shard <see cref="OwnerShard"/>, like the audit log's duties, each step
/// fenced by that shard's range id — removes the rows in steps of <see cref="NamespacePurgeOptions.PageSize"/>, each a
/// short transaction of its own (never a long one holding up the group commit), <see cref="NamespacePurgeOptions.Pace"/>
/// apart, and the purge record last. A restart or a new holder resumes from what is left. Rows are found by
/// namespace id, so a namespace created later under the same name (a new id) is untouched.
/// </summary>
internal sealed partial class NamespacePurger : IAsyncDisposable
{
    internal const int OwnerShard = 0;

    private readonly INamespacePurgeStore _store;
    private readonly HistoryEngine _engine;
    private readonly NamespaceRegistry _namespaces;
    private readonly NamespacePurgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private CancellationTokenSource? _pass;
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    public NamespacePurger(IStorageProvider store, HistoryEngine engine, NamespaceRegistry namespaces, NamespacePurgeOptions options, TimeProvider time, ILogger<NamespacePurger> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store.NamespacePurges;
        _engine = engine;
        _namespaces = namespaces;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts the loop: it purges while this node holds the owner shard, woken by a deletion, the shard's take, or every minute.</summary>
    public void Start()
    {
        _namespaces.Removed += OnRemoved;
        _engine.ShardAcquired += OnShardAcquiredAsync;
        _engine.ShardLost += OnShardLost;
        _loop = Task.Run(LoopAsync);
        Wake();
    }

    private void OnRemoved(string namespaceId) => Wake();

    private Task OnShardAcquiredAsync(int shard)
    {
        if (shard == OwnerShard)
        {
            Wake();
        }

        return Task.CompletedTask;
    }

    /// <summary>The owner shard went to another node: the pass in flight stops (its step in flight is fenced off).</summary>
    private void OnShardLost(int shard)
    {
        if (shard == OwnerShard)
        {
            lock (_lock)
            {
                _pass?.Cancel();
            }
        }
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using (var poll = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    poll.CancelAfter(TimeSpan.FromMinutes(1));
                    try
                    {
                        await _wake.Reader.ReadAsync(poll.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                    {
                        // Look again every minute: a pass that failed is retried.
                    }
                }

                if (!_engine.OwnsShard(OwnerShard))
                {
                    continue;
                }

                using var pass = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                lock (_lock)
                {
                    _pass = pass;
                }

                try
                {
                    await PurgeAllAsync(pass.Token).ConfigureAwait(false);
                }
                finally
                {
                    lock (_lock)
                    {
                        _pass = null;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopping, or the owner shard was lost: the next holder resumes from the store.
            }
            catch (ShardOwnershipLostException)
            {
            }
#pragma warning disable CA1031 // A failed pass is retried at the next wake-up; the loop must live on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogPurgeFailed(_logger, e);
            }
        }
    }

    private async Task PurgeAllAsync(CancellationToken cancellationToken)
    {
        foreach (var purge in await _store.ListNamespacePurgesAsync(cancellationToken).ConfigureAwait(false))
        {
            await PurgeAsync(purge, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PurgeAsync(NamespacePurgeRecord purge, CancellationToken cancellationToken)
    {
        // Deleted on another node, or before a restart: nothing of it is served or written here from now on.
        _namespaces.MarkDeleted(purge.NamespaceId);
        LogPurgeStarted(_logger, purge.Name, purge.Account, purge.NamespaceId, purge.Purged);
        var total = purge.Purged;
        while (true)
        {
            var fence = (OwnerShard, _engine.RangeOf(OwnerShard));
            var removed = await _store.PurgeNamespaceStepAsync(purge.NamespaceId, _options.PageSize, fence, cancellationToken).ConfigureAwait(false);
            if (removed > 0)
            {
                total += removed;
                ServerMetrics.NamespacePurgedRows.Add(removed);
                LogPurgeProgress(_logger, purge.NamespaceId, total);
                await Task.Delay(_options.Pace, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // Nothing left. A node that has not yet heard of the deletion may still write a run it cached; the grace
            // lets every node learn of it (the namespace refresh) before the last look.
            var settled = purge.DeletedTime + _options.Grace - _time.GetUtcNow().UtcDateTime;
            if (settled > TimeSpan.Zero)
            {
                await Task.Delay(settled, _time, cancellationToken).ConfigureAwait(false);
                purge = purge with { DeletedTime = DateTime.MinValue };
                continue;
            }

            await _store.FinishNamespacePurgeAsync(purge.NamespaceId, cancellationToken).ConfigureAwait(false);
            LogPurgeFinished(_logger, purge.Name, purge.Account, purge.NamespaceId, total);
            return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the server stops it before the engine; the service container disposes it again
        }

        _namespaces.Removed -= OnRemoved;
        _engine.ShardAcquired -= OnShardAcquiredAsync;
        _engine.ShardLost -= OnShardLost;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Purging deleted namespace {Namespace}.{Account} ({NamespaceId}): {Purged} rows removed so far.")]
    private static partial void LogPurgeStarted(ILogger logger, string @namespace, string account, string namespaceId, long purged);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Debug, Message = "Purge of namespace {NamespaceId}: {Purged} rows removed.")]
    private static partial void LogPurgeProgress(ILogger logger, string namespaceId, long purged);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Information, Message = "Deleted namespace {Namespace}.{Account} ({NamespaceId}) purged: {Purged} rows removed.")]
    private static partial void LogPurgeFinished(ILogger logger, string @namespace, string account, string namespaceId, long purged);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "Purging a deleted namespace failed; it is retried within a minute.")]
    private static partial void LogPurgeFailed(ILogger logger, Exception e);
}

/// <summary>How fast <see cref="NamespacePurger"/> works: rows per step, the pause between steps, and how long after a deletion it takes a last look.</summary>
public sealed record NamespacePurgeOptions(int PageSize, TimeSpan Pace, TimeSpan Grace)
{
    /// <summary>500 rows per step, 10 steps a second at most; a last look 10 s after the deletion (two namespace refreshes).</summary>
    public static NamespacePurgeOptions Default { get; } = new(500, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
}
