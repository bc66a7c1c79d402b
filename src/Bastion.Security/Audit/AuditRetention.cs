using Bastion.Engine.Tasks;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Security.Audit;

/// <summary>
/// Removes audit records older than the retention period, on a timer of <see cref="TimeProvider"/>. Removal takes the
/// oldest records first and moves the chain's anchor with them, so what remains still verifies.
/// </summary>
public sealed partial class AuditRetention : IDisposable
{
    private const int DeleteBatch = 10_000;

    private readonly IAuditStore _store;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly ITimer _timer;

    public AuditRetention(IAuditStore store, TimeSpan retention, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _retention = retention;
        _time = time;
        _logger = logger;
        _timer = LongTimer.Create(time, _ => _ = TickAsync(), null, interval, interval);
    }

    /// <summary>Whether this process runs the timed removal: in a cluster only the holder of shard 0; always, standalone.</summary>
    public Func<bool> Active { get; init; } = static () => true;

    /// <summary>Removes what is past retention now; returns how many records were removed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var cutoff = _time.GetUtcNow().UtcDateTime - _retention;
            var total = 0;
            foreach (var chain in await _store.ListAuditChainsAsync(cancellationToken).ConfigureAwait(false))
            {
                int removed;
                do
                {
                    removed = await _store.DeleteAuditBeforeAsync(chain.Chain, cutoff, DeleteBatch, cancellationToken).ConfigureAwait(false);
                    total += removed;
                }
                while (removed == DeleteBatch);
            }

            return total;
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task TickAsync()
    {
        if (!Active())
        {
            return;
        }

        try
        {
            var removed = await RunOnceAsync().ConfigureAwait(false);
            if (removed > 0)
            {
                LogRemoved(_logger, removed);
            }
        }
#pragma warning disable CA1031 // A failed run is retried at the next tick.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFailed(_logger, e);
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _running.Dispose();
    }

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Audit retention removed {Count} records.")]
    private static partial void LogRemoved(ILogger logger, int count);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Audit retention failed; it runs again at the next interval.")]
    private static partial void LogFailed(ILogger logger, Exception e);
}
