using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Security.Audit;

/// <summary>
/// Delivers the audit log to one sink, at least once, in log order (<see cref="AuditReader"/>): reads the records after
/// the sink's durable cursor (a position in every chain), delivers them, then moves the cursor. A sink that fails is retried with exponential back-off (driven by
/// <see cref="TimeProvider"/>) and catches up from its cursor when it returns, also across restarts.
/// </summary>
public sealed partial class AuditExporter(
    IAuditStore store, IAuditExportTarget target, int batchSize, TimeProvider time, TimeSpan pollInterval, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _oldestPendingTicks;

    /// <summary>
    /// Whether this process delivers now: in a cluster only the holder of shard 0 does (the cursor is shared, so the
    /// next holder goes on from it); always, for a standalone server.
    /// </summary>
    public Func<bool> Active { get; init; } = static () => true;

    /// <summary>The sink's name (the exporter's cursor).</summary>
    public string Name => target.Name;

    /// <summary>
    /// How far delivery is behind: from the oldest record read but not yet delivered to <paramref name="now"/>; zero once
    /// a read finds nothing new (the <c>bastion_audit_export_lag_seconds</c> gauge).
    /// </summary>
    public TimeSpan Lag(DateTime now) => Interlocked.Read(ref _oldestPendingTicks) is var ticks and > 0 && now.Ticks > ticks
        ? TimeSpan.FromTicks(now.Ticks - ticks)
        : TimeSpan.Zero;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>New records were committed: look now rather than at the next poll.</summary>
    public void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another notification got there first; one wake-up is enough.
            }
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = s_firstBackoff;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!Active())
                {
                    await _signal.WaitAsync(pollInterval, stop).ConfigureAwait(false);
                    continue;
                }

                var cursor = await store.ReadAuditCursorAsync(target.Name, stop).ConfigureAwait(false);
                var read = await AuditReader.ReadAsync(store, cursor, batchSize, null, stop).ConfigureAwait(false);
                if (read.Records.Count == 0)
                {
                    Interlocked.Exchange(ref _oldestPendingTicks, 0);
                    await _signal.WaitAsync(pollInterval, stop).ConfigureAwait(false);
                    continue;
                }

                Interlocked.Exchange(ref _oldestPendingTicks, read.Records[0].EmitTime.Ticks); // the oldest not yet delivered

                await target.DeliverAsync(read.Records, stop).ConfigureAwait(false);
                await store.WriteAuditCursorAsync(target.Name, read.Next, stop).ConfigureAwait(false);
                backoff = s_firstBackoff;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A sink that fails is retried; the exporter must go on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogDeliveryFailed(logger, target.Name, backoff.TotalSeconds, e.Message);
                try
                {
                    await Task.Delay(backoff, time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = backoff * 2 > s_maxBackoff ? s_maxBackoff : backoff * 2;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _signal.Dispose();
    }

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Audit export to {Sink} failed; retrying in {Seconds} s: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string sink, double seconds, string reason);
}
