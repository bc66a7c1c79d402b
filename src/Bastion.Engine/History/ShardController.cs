using Bastion.Engine.Errors;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// The shards this process owns: their leases (range id = fencing token, and the lease's end), renewed while the process
/// runs and released when it stops. A shard is lost when a commit or a renewal finds its range id moved on (another
/// server on the same database took it): from then on this process serves nothing of it. One process owns every shard;
/// losing one means a second server was started on the database, and it is not taken back.
/// </summary>
/// <remarks>
/// Correctness rests on the fence, not the lease: a commit with a stale range id is refused inside its transaction
/// whatever the clocks say. The lease tells another server whether an owner is still alive; a renewal that fails for
/// another reason (the database briefly unreachable) is logged and tried again, since a commit would fail the same way.
/// </remarks>
internal sealed partial class ShardController : IAsyncDisposable
{
    /// <summary>How long a lease lasts; renewed every <see cref="RenewEvery"/>, so a few failed renewals in a row are survived.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(5);

    private readonly ShardLease[] _leases;
    private readonly int[] _lost;
    private readonly IShardStore? _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<int> _onLost;
    private readonly CancellationTokenSource _stop = new();
    private Task _renewals = Task.CompletedTask;
    private bool _renewalFailing;
    private int _disposed;

    private ShardController(ShardLease[] leases, IShardStore? store, TimeProvider time, ILogger logger, Action<int> onLost)
    {
        _leases = leases;
        _lost = new int[leases.Length];
        _store = store;
        _time = time;
        _logger = logger;
        _onLost = onLost;
    }

    public static ShardController None { get; } = new([], null, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _ => { });

    public int Count => _leases.Length;

    /// <summary>
    /// Takes every shard as <paramref name="owner"/> (the range id of each moves on, fencing off any earlier owner) and
    /// starts renewing the leases; <paramref name="onLost"/> is told of a shard lost to another owner.
    /// </summary>
    public static async Task<ShardController> AcquireAsync(
        IShardStore store, int count, string owner, TimeProvider time, ILogger logger, Action<int> onLost, CancellationToken cancellationToken)
    {
        var leases = new ShardLease[count];
        var now = time.GetUtcNow().UtcDateTime;
        for (var shard = 0; shard < count; shard++)
        {
            leases[shard] = await store.AcquireShardAsync(shard, owner, now + LeaseDuration, cancellationToken).ConfigureAwait(false);
            if (leases[shard].Replaced is { Owner: { } previous, LeaseUntil: var until } && until > now && previous != owner)
            {
                LogTookLiveShard(logger, shard, previous, until);
            }
        }

        var controller = new ShardController(leases, store, time, logger, onLost);
        controller._renewals = controller.RenewLoopAsync();
        return controller;
    }

    public long RangeOf(int shard) => _leases[shard].RangeId;

    public bool Owns(int shard) => Volatile.Read(ref _lost[shard]) == 0;

    /// <summary>Marks the shard lost; true the first time.</summary>
    public bool Lose(int shard) => Interlocked.Exchange(ref _lost[shard], 1) == 0;

    /// <summary>UNAVAILABLE (the SDKs retry, and reach the shard's owner through a load balancer) unless the shard is owned.</summary>
    public void EnsureOwned(int shard)
    {
        if (!Owns(shard))
        {
            throw Unavailable(shard);
        }
    }

    public static ServiceException Unavailable(int shard) =>
        new(ErrorKind.Unavailable, $"Shard {shard} is served by another Bastion server on this database now; this server no longer serves it.");

    /// <summary>Renews every owned lease once (the loop does this every <see cref="RenewEvery"/>).</summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("No shards are owned.");
        var failed = false;
        for (var shard = 0; shard < _leases.Length; shard++)
        {
            if (!Owns(shard))
            {
                continue;
            }

            try
            {
                _leases[shard] = await store.RenewShardAsync(_leases[shard], _time.GetUtcNow().UtcDateTime + LeaseDuration, cancellationToken).ConfigureAwait(false);
            }
            catch (ShardOwnershipLostException)
            {
                _onLost(shard);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed = true;
                if (!_renewalFailing)
                {
                    LogRenewalFailed(_logger, e, shard);
                }
            }
        }

        _renewalFailing = failed;
    }

    private async Task RenewLoopAsync()
    {
        using var timer = new PeriodicTimer(RenewEvery, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await RenewAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops renewing and releases the leases still owned, so a next owner need not wait for them to run out.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_store is null || Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // None (nothing owned, nothing running), or stopped already: the engine is disposed by its host and the container
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewals.ConfigureAwait(false);
        _stop.Dispose();

        for (var shard = 0; shard < _leases.Length; shard++)
        {
            if (!Owns(shard))
            {
                continue;
            }

            try
            {
                await _store.ReleaseShardAsync(_leases[shard], CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Stopping goes on: an unreleased lease only makes the next owner wait for it to end.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogReleaseFailed(_logger, e, shard);
            }
        }
    }

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Shard {Shard} was taken from {PreviousOwner}, whose lease ran until {LeaseUntil:o}: if that server is still running, it stops serving the shard at its next write.")]
    private static partial void LogTookLiveShard(ILogger logger, int shard, string previousOwner, DateTime leaseUntil);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Renewing the lease of shard {Shard} failed; retrying (commits stay fenced by the range id meanwhile).")]
    private static partial void LogRenewalFailed(ILogger logger, Exception e, int shard);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Releasing the lease of shard {Shard} failed; a next owner takes it when the lease ends.")]
    private static partial void LogReleaseFailed(ILogger logger, Exception e, int shard);
}
