using Bastion.Engine.Errors;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// The shards this node owns: their leases (range id = fencing token, and the lease's end), renewed while the node runs
/// and released when it stops or when the shard is assigned elsewhere. Shards are assigned to the live nodes by
/// rendezvous hashing (<see cref="Cluster.Rendezvous"/>), so a join or a loss moves only what must move; a standalone
/// server is a cluster of one and takes every shard. A shard is lost when a commit or a renewal finds its range id moved
/// on (another node took it): from then on this node serves nothing of it, until an assignment gives it back while the
/// taker is no longer live.
/// </summary>
/// <remarks>
/// Correctness rests on the fence, not the lease: a commit with a stale range id is refused inside its transaction
/// whatever the clocks say. Leases tell a new owner whether the shard's holder may still be serving: an assigned shard
/// whose holder is live and holds a lease is left to it (it releases the shard when it sees the new assignment), so
/// shards do not bounce between live nodes; a renewal that fails for another reason (the database briefly unreachable)
/// is logged and tried again, since a commit would fail the same way.
/// </remarks>
internal sealed partial class ShardController : IAsyncDisposable
{
    /// <summary>How long a lease lasts; renewed every <see cref="RenewEvery"/>, so a few failed renewals in a row are survived.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(5);

    private readonly ShardLease?[] _leases;
    private readonly IShardStore? _store;
    private readonly string _owner;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _assign = new(1, 1);
    private Task _renewals = Task.CompletedTask;
    private bool _renewalFailing;
    private int _disposed;

    private ShardController(int count, IShardStore? store, string owner, TimeProvider time, ILogger logger)
    {
        _leases = new ShardLease?[count];
        _store = store;
        _owner = owner;
        _time = time;
        _logger = logger;
    }

    public static ShardController None { get; } = new(0, null, string.Empty, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    /// <summary>
    /// A controller of <paramref name="count"/> shards for <paramref name="owner"/> (this node, as other nodes see it),
    /// owning none yet: <see cref="AssignAsync"/> takes them.
    /// </summary>
    public static ShardController Create(IShardStore store, int count, string owner, TimeProvider time, ILogger logger) =>
        new(count, store, owner, time, logger);

    public int Count => _leases.Length;

    /// <summary>Told after a shard was taken (its lease is held and <see cref="Owns"/> is true): load what it runs.</summary>
    public Func<int, Task>? Acquired { get; set; }

    /// <summary>Told when a shard stops being served here (released to another node, or lost): drop what it held.</summary>
    public Action<int>? Dropped { get; set; }

    public long RangeOf(int shard) => Volatile.Read(ref _leases[shard])?.RangeId ?? throw Unavailable(shard);

    /// <summary>
    /// Whether this node may serve its shards now (in a cluster: its own cluster lease holds, checked at each use so a
    /// late timer or a starved thread pool cannot stretch it); null for a standalone server.
    /// </summary>
    public Func<bool>? ServingAllowed { get; set; }

    public bool Owns(int shard) => Volatile.Read(ref _leases[shard]) is not null && (ServingAllowed is not { } allowed || allowed());

    /// <summary>
    /// The shard's range id was found moved on (a commit or renewal was fenced off): it stops being served here and its
    /// state is dropped, once.
    /// </summary>
    public void Lose(int shard)
    {
        if (Interlocked.Exchange(ref _leases[shard], null) is not null)
        {
            LogShardLost(_logger, shard);
            Dropped?.Invoke(shard);
        }
    }

    /// <summary>
    /// This node's cluster lease ran out (it could not reach the database): every shard stops being served here at once
    /// and its state is dropped, before another node may take it; assignment takes them again, with new range ids.
    /// </summary>
    public void DropAll()
    {
        for (var shard = 0; shard < _leases.Length; shard++)
        {
            if (Interlocked.Exchange(ref _leases[shard], null) is not null)
            {
                Dropped?.Invoke(shard);
            }
        }
    }

    /// <summary>UNAVAILABLE (the SDKs retry, and reach the shard's owner through a load balancer) unless the shard is owned.</summary>
    public void EnsureOwned(int shard)
    {
        if (!Owns(shard))
        {
            throw Unavailable(shard);
        }
    }

    public static ServiceException Unavailable(int shard) =>
        new(ErrorKind.Unavailable, $"Shard {shard} is not served by this Bastion node now; retry (another node serves it).");

    /// <summary>
    /// Takes the shards rendezvous hashing gives this node among <paramref name="live"/> and releases the others it
    /// holds. An assigned shard still leased to another live node is left to it; the next assignment looks again.
    /// </summary>
    public async Task AssignAsync(IReadOnlyCollection<string> live, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("No shards to assign.");
        await _assign.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var rows = (await store.ReadShardsAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.ShardId);
            for (var shard = 0; shard < _leases.Length; shard++)
            {
                var mine = Cluster.Rendezvous.OwnerOf(Cluster.Rendezvous.ShardKey(shard), live) == _owner;
                if (mine && !Owns(shard))
                {
                    var now = _time.GetUtcNow().UtcDateTime;
                    if (rows.TryGetValue(shard, out var row) && row.Owner is { } holder && holder != _owner && live.Contains(holder) && row.LeaseUntil > now)
                    {
                        continue; // its live holder releases it when it sees this assignment
                    }

                    var lease = await store.AcquireShardAsync(shard, _owner, now + LeaseDuration, cancellationToken).ConfigureAwait(false);
                    if (lease.Replaced is { Owner: { } previous, LeaseUntil: var until } && until > now && previous != _owner)
                    {
                        LogTookLiveShard(_logger, shard, previous, until);
                    }

                    Volatile.Write(ref _leases[shard], lease);
                    if (Acquired is { } acquired)
                    {
                        await acquired(shard).ConfigureAwait(false);
                    }
                }
                else if (!mine && Interlocked.Exchange(ref _leases[shard], null) is { } held)
                {
                    LogReleasing(_logger, shard);
                    Dropped?.Invoke(shard);
                    await ReleaseAsync(held).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _assign.Release();
        }
    }

    /// <summary>Starts renewing the owned leases every <see cref="RenewEvery"/>.</summary>
    public void StartRenewing() => _renewals = RenewLoopAsync();

    /// <summary>Renews every owned lease once (the loop does this every <see cref="RenewEvery"/>).</summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("No shards are owned.");
        var failed = false;
        for (var shard = 0; shard < _leases.Length; shard++)
        {
            if (Volatile.Read(ref _leases[shard]) is not { } lease)
            {
                continue;
            }

            try
            {
                var renewed = await store.RenewShardAsync(lease, _time.GetUtcNow().UtcDateTime + LeaseDuration, cancellationToken).ConfigureAwait(false);
                Interlocked.CompareExchange(ref _leases[shard], renewed, lease); // unless released or lost meanwhile
            }
            catch (ShardOwnershipLostException)
            {
                Lose(shard);
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

    private async Task ReleaseAsync(ShardLease lease)
    {
        try
        {
            await _store!.ReleaseShardAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Going on is right: an unreleased lease only makes the next owner wait for it to end.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogReleaseFailed(_logger, e, lease.ShardId);
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
        await _assign.WaitAsync().ConfigureAwait(false); // an assignment in flight finishes first
        for (var shard = 0; shard < _leases.Length; shard++)
        {
            if (Interlocked.Exchange(ref _leases[shard], null) is { } lease)
            {
                await ReleaseAsync(lease).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Shard {Shard} was taken by another Bastion node on this database; this node stops serving it.")]
    private static partial void LogShardLost(ILogger logger, int shard);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Information, Message = "Shard {Shard} is assigned to another node now; this node releases it.")]
    private static partial void LogReleasing(ILogger logger, int shard);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Shard {Shard} was taken from {PreviousOwner}, whose lease ran until {LeaseUntil:o}: if that server is still running, it stops serving the shard at its next write.")]
    private static partial void LogTookLiveShard(ILogger logger, int shard, string previousOwner, DateTime leaseUntil);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Renewing the lease of shard {Shard} failed; retrying (commits stay fenced by the range id meanwhile).")]
    private static partial void LogRenewalFailed(ILogger logger, Exception e, int shard);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Releasing the lease of shard {Shard} failed; a next owner takes it when the lease ends.")]
    private static partial void LogReleaseFailed(ILogger logger, Exception e, int shard);
}
