using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.Cluster;

/// <summary>
/// Which nodes are alive. A clustered node writes its row with a lease every <see cref="HeartbeatEvery"/> and reads
/// every row; the live set is the rows whose lease has not run out, itself included only while its own last written
/// lease lasts less <see cref="SelfMargin"/> — a node cut off from the database drops out of its own view, and is told
/// (<see cref="SelfLeaseEnded"/>, on a timer of its own, whatever its heartbeat is waiting for) to stop serving its
/// shards, before the others may take them. A standalone server (no cluster address) is a cluster of one that
/// writes no row: it is always its own live set, and another server on the same database is not a member (it takes the
/// shards, as one database takes one standalone server).
/// </summary>
internal sealed partial class ClusterMembership : IAsyncDisposable
{
    public static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(2);

    /// <summary>How long a row proves its node alive: five heartbeats, so a few slow ones are survived.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How much sooner than the others this node counts its own lease over: its shards are dropped before another node
    /// may take them, even with that much clock difference between the machines.
    /// </summary>
    public static readonly TimeSpan SelfMargin = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How far this machine's clock may be from the database's: every node's leases (and its timers) are read against
    /// its own clock, and <see cref="SelfMargin"/> covers two nodes' clocks apart by twice this, each within it of the
    /// database's. A node further off is refused at its join; one that drifts off after says so loudly.
    /// </summary>
    public static readonly TimeSpan ClockSkewLimit = TimeSpan.FromSeconds(1);

    /// <summary>How long one heartbeat or read of the node rows may take (a database that does not answer is not waited for).</summary>
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(4);

    private readonly IMembershipStore? _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private IReadOnlyList<ClusterNode> _live;
    private IReadOnlyList<ClusterNode> _rows = [];
    private long _ownLeaseUntilTicks; // read by every call that asks whether this node serves (SelfLeaseHolds)
    private bool _heartbeatFailing;
    private long _clockSkewTicks = long.MinValue; // long.MinValue: not measured
    private bool _clockOff;
    private bool _namesakeSeen;
    private Task _loop = Task.CompletedTask;
    private ITimer? _selfExpiry;
    private int _disposed;

    private ClusterMembership(ClusterNode self, IMembershipStore? store, TimeProvider time, ILogger logger)
    {
        Self = self;
        _store = store;
        _time = time;
        _logger = logger;
        _live = [self];
    }

    public ClusterNode Self { get; }

    public bool Clustered => _store is not null;

    /// <summary>The live nodes, ordered by id (a snapshot; replaced, never changed, when the set changes).</summary>
    public IReadOnlyList<ClusterNode> Live => Volatile.Read(ref _live);

    /// <summary>
    /// Told after every refresh with the live set and whether it changed (on the heartbeat loop): shards left to a holder
    /// that had not released them yet are looked at again each time.
    /// </summary>
    public Func<IReadOnlyList<ClusterNode>, bool, Task>? Refreshed { get; set; }

    /// <summary>
    /// Told (on a timer thread) when this node's own lease, less <see cref="SelfMargin"/>, ran out without a heartbeat
    /// renewing it: it must stop serving its shards at once; they are taken again by assignment when heartbeats work.
    /// </summary>
    public Action? SelfLeaseEnded { get; set; }

    public static ClusterMembership Standalone(string nodeId, TimeProvider time, ILogger logger) =>
        new(ClusterProtocol.Announce(nodeId, string.Empty, time.GetUtcNow().UtcDateTime), null, time, logger);

    /// <summary>Writes this node's row, reads the others, and keeps doing both every <see cref="HeartbeatEvery"/>.</summary>
    public static async Task<ClusterMembership> JoinAsync(IMembershipStore store, ClusterNode self, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(time);

        // A build more than one release away from a live node could not read its messages nor write it any, and a live
        // node of this name elsewhere is another process: refuse to join.
        var now = time.GetUtcNow().UtcDateTime;
        foreach (var row in await store.ReadNodesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!row.IsLiveAt(now))
            {
                continue;
            }

            if (row.Node.NodeId == self.NodeId)
            {
                if (row.Node.Address != self.Address)
                {
                    throw new ClusterNameException(self, row);
                }
            }
            else if (ClusterProtocol.Common(self, row.Node) is null)
            {
                throw new ClusterVersionException(self, row.Node);
            }
        }

        // The clock first, by a heartbeat whose lease is already over: a node too far off never looks live to the others.
        var membership = new ClusterMembership(self, store, time, logger);
        var sent = time.GetUtcNow().UtcDateTime;
        membership.MeasureClock(sent, await store.HeartbeatAsync(self, sent, cancellationToken).ConfigureAwait(false));
        if (membership._clockOff)
        {
            var skew = membership.ClockSkew!.Value;
            await membership.DisposeAsync().ConfigureAwait(false); // leaves: its row goes
            throw new ClusterClockException(self, skew);
        }

        await membership.RefreshAsync(cancellationToken).ConfigureAwait(false);
        membership._loop = membership.LoopAsync();
        return membership;
    }

    /// <summary>
    /// The live nodes as the database says now, not as last read: a change of settings must reach a node that joined
    /// since this node's last refresh (it read the settings at its start, perhaps before the change). The last live set
    /// when the database cannot be read in time (<paramref name="cancellationToken"/>).
    /// </summary>
    public async Task<IReadOnlyList<ClusterNode>> ReadLiveNowAsync(CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            return Live;
        }

        try
        {
            var rows = await _store.ReadNodesAsync(cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow().UtcDateTime;
            return LiveOf(rows, now, SelfLeaseHolds(now));
        }
#pragma warning disable CA1031 // The last live set stands in; the heartbeat logs the database's failures.
        catch (Exception)
#pragma warning restore CA1031
        {
            return Live;
        }
    }

    /// <summary>The address a live node is reached at; null when it is not live.</summary>
    public string? AddressOf(string nodeId) => Live.FirstOrDefault(n => n.NodeId == nodeId)?.Address;

    /// <summary>A live node: its address and the version of the internal messages to write to it; null when it is not live.</summary>
    /// <exception cref="ClusterVersionException">It shares no version with this node (it joined before this one could refuse).</exception>
    public (string Address, byte Protocol)? Reach(string nodeId)
    {
        var node = Live.FirstOrDefault(n => n.NodeId == nodeId);
        return node is null ? null : (node.Address, ClusterProtocol.Common(Self, node) ?? throw new ClusterVersionException(Self, node));
    }

    /// <summary>
    /// This machine's clock less the database's as the last heartbeat measured it (positive: ahead); null before a
    /// measurement, or when the database has no clock of its own (SQLite).
    /// </summary>
    public TimeSpan? ClockSkew => Volatile.Read(ref _clockSkewTicks) is var ticks && ticks != long.MinValue ? TimeSpan.FromTicks(ticks) : null;

    /// <summary>Every node row as last read, live or not (cluster status).</summary>
    public IReadOnlyList<ClusterNode> LastRead => Volatile.Read(ref _rows);

    /// <summary>One heartbeat and read (the loop does this every <see cref="HeartbeatEvery"/>), then <see cref="Refreshed"/>.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            return;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow().UtcDateTime;
            try
            {
                DateTime? databaseTime;
                using (var bounded = Bounded(cancellationToken))
                {
                    databaseTime = await _store.HeartbeatAsync(Self, now + LeaseDuration, bounded.Token).ConfigureAwait(false);
                }

                MeasureClock(now, databaseTime);

                OwnLeaseUntil = now + LeaseDuration;
                ArmSelfExpiry(OwnLeaseUntil - SelfMargin - _time.GetUtcNow().UtcDateTime);
                if (_heartbeatFailing)
                {
                    LogHeartbeatBack(_logger);
                }

                _heartbeatFailing = false;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (!_heartbeatFailing)
                {
                    LogHeartbeatFailed(_logger, e, OwnLeaseUntil);
                }

                _heartbeatFailing = true;
            }

            IReadOnlyList<ClusterNodeRecord>? rows = null;
            try
            {
                using var bounded = Bounded(cancellationToken);
                rows = await _store.ReadNodesAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The last live set stands, less this node once its own lease is over (below).
                if (!_heartbeatFailing)
                {
                    LogReadFailed(_logger, e);
                }
            }

            now = _time.GetUtcNow().UtcDateTime;
            var selfLive = SelfLeaseHolds(now);
            IReadOnlyList<ClusterNode> live;
            if (rows is not null)
            {
                Volatile.Write(ref _rows, rows.Select(r => r.Node).ToList());
                NoticeNamesake(rows);
                live = LiveOf(rows, now, selfLive);
            }
            else
            {
                live = Live.Where(n => n.NodeId != Self.NodeId || selfLive).ToList();
            }

            // A node started again is a change even when this node never saw it gone (stopped and back, or killed and
            // back while its lease still held, within one refresh): what it held in memory — its task queues' items —
            // went with the process, so the work dispatched to it must be handed out again.
            var changed = !Live.Select(n => (n.NodeId, n.Address, n.StartedAt)).SequenceEqual(live.Select(n => (n.NodeId, n.Address, n.StartedAt)));
            if (changed)
            {
                var before = Live;
                Volatile.Write(ref _live, live);
                var names = string.Join(", ", live.Select(n => n.NodeId));
                var change = DescribeChange(before, live);
                LogLiveSetChanged(_logger, names, change);
            }

            if (Refreshed is { } refreshed)
            {
                await refreshed(live, changed).ConfigureAwait(false);
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>The live set in <paramref name="rows"/>: the others by their leases, this node by its own (less <see cref="SelfMargin"/>).</summary>
    private List<ClusterNode> LiveOf(IReadOnlyList<ClusterNodeRecord> rows, DateTime now, bool selfLive) =>
        rows.Where(r => r.IsLiveAt(now) && r.Node.NodeId != Self.NodeId).Select(r => r.Node)
            .Concat(selfLive ? [Self] : [])
            .OrderBy(n => n.NodeId, StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// This clock against the database's, read while the heartbeat wrote: the database read its clock somewhere within
    /// the round trip, so only what lies beyond half of it counts against <see cref="ClockSkewLimit"/>.
    /// </summary>
    private void MeasureClock(DateTime sent, DateTime? databaseTime)
    {
        if (databaseTime is not { } database)
        {
            return;
        }

        var half = (_time.GetUtcNow().UtcDateTime - sent) / 2;
        var skew = sent + half - database;
        Volatile.Write(ref _clockSkewTicks, skew.Ticks);
        var off = skew.Duration() - half > ClockSkewLimit;
        if (off && !_clockOff)
        {
            LogClockOff(_logger, skew.TotalSeconds, ClockSkewLimit.TotalSeconds);
        }
        else if (!off && _clockOff)
        {
            LogClockBack(_logger, skew.TotalSeconds);
        }

        _clockOff = off;
    }

    /// <summary>
    /// This node's row as read just after its heartbeat wrote it: another address or start time there means another
    /// process runs under this node's name (both started at once, so neither was refused at its join).
    /// </summary>
    private void NoticeNamesake(IReadOnlyList<ClusterNodeRecord> rows)
    {
        var own = rows.FirstOrDefault(r => r.Node.NodeId == Self.NodeId)?.Node;
        var other = own is not null && (own.Address != Self.Address || own.StartedAt != Self.StartedAt);
        if (other && !_namesakeSeen)
        {
            LogNamesake(_logger, Self.NodeId, own!.Address, own.StartedAt);
        }

        _namesakeSeen = other;
    }

    private DateTime OwnLeaseUntil
    {
        get => new(Volatile.Read(ref _ownLeaseUntilTicks), DateTimeKind.Utc);
        set => Volatile.Write(ref _ownLeaseUntilTicks, value.Ticks);
    }

    /// <summary>True while this node's own lease, less <see cref="SelfMargin"/>, holds: it may serve its shards.</summary>
    public bool SelfLeaseHolds() => SelfLeaseHolds(_time.GetUtcNow().UtcDateTime);

    private bool SelfLeaseHolds(DateTime now) => now < OwnLeaseUntil - SelfMargin;

    private static CancellationTokenSource Bounded(CancellationToken cancellationToken)
    {
        var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(s_callTimeout);
        return bounded;
    }

    private void ArmSelfExpiry(TimeSpan due)
    {
        due = due < TimeSpan.Zero ? TimeSpan.Zero : due;
        if (_selfExpiry is { } timer)
        {
            timer.Change(due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _selfExpiry = _time.CreateTimer(_ => OnSelfExpiry(), null, due, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnSelfExpiry()
    {
        if (_stop.IsCancellationRequested || SelfLeaseHolds(_time.GetUtcNow().UtcDateTime))
        {
            return; // renewed meanwhile (the timer was moved on) or stopping
        }

        LogSelfLeaseEnded(_logger);
        SelfLeaseEnded?.Invoke();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(HeartbeatEvery, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await RefreshAsync(_stop.Token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // A handler's failure is its own (logged there); the heartbeat goes on.
                catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    LogRefreshFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops the heartbeat and removes this node's row, so the others move its work at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        if (_selfExpiry is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        if (_store is null)
        {
            return;
        }

        try
        {
            await _store.LeaveAsync(Self.NodeId, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Stopping goes on: the row's lease runs out by itself.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogLeaveFailed(_logger, e);
        }
    }

    /// <summary>
    /// What changed between two live sets, for the log: the nodes that joined, left, or were started again (the same
    /// name, another start time) — a restart leaves the list of names as it was, so the names alone would not say.
    /// </summary>
    internal static string DescribeChange(IReadOnlyList<ClusterNode> before, IReadOnlyList<ClusterNode> after)
    {
        var old = before.ToDictionary(n => n.NodeId, StringComparer.Ordinal);
        var now = after.Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        var parts = new List<string>();
        var joined = after.Where(n => !old.ContainsKey(n.NodeId)).Select(n => n.NodeId).ToList();
        var left = before.Where(n => !now.Contains(n.NodeId)).Select(n => n.NodeId).ToList();
        var restarted = after.Where(n => old.TryGetValue(n.NodeId, out var o) && (o.StartedAt != n.StartedAt || o.Address != n.Address)).Select(n => n.NodeId).ToList();
        if (joined.Count > 0)
        {
            parts.Add($"joined: {string.Join(", ", joined)}");
        }

        if (left.Count > 0)
        {
            parts.Add($"left: {string.Join(", ", left)}");
        }

        if (restarted.Count > 0)
        {
            parts.Add($"started again: {string.Join(", ", restarted)}");
        }

        return string.Join("; ", parts);
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Cluster members now: {Nodes} ({Change}).")]
    private static partial void LogLiveSetChanged(ILogger logger, string nodes, string change);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "This node's cluster heartbeat failed; it keeps serving until its lease ends at {LeaseUntil:o}, then stops serving its shards.")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception e, DateTime leaseUntil);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "This node's cluster heartbeat works again.")]
    private static partial void LogHeartbeatBack(ILogger logger);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Reading the cluster's nodes failed; the last live set stands.")]
    private static partial void LogReadFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Error, Message = "Acting on a change of the cluster's members failed; the next heartbeat tries again.")]
    private static partial void LogRefreshFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 2019, Level = LogLevel.Error, Message = "This node's cluster lease ran out without a heartbeat reaching the database: it stops serving its shards until heartbeats work again.")]
    private static partial void LogSelfLeaseEnded(ILogger logger);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Error, Message = "This machine's clock is {SkewSeconds:F1} s from the database's (positive: ahead); a cluster's nodes must keep theirs within {LimitSeconds:F0} s of it — leases and timers are read against each node's clock, so a node fails over late, or serves a shard another node has taken, until its clock is set right (NTP).")]
    private static partial void LogClockOff(ILogger logger, double skewSeconds, double limitSeconds);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Information, Message = "This machine's clock agrees with the database's again ({SkewSeconds:F2} s).")]
    private static partial void LogClockBack(ILogger logger, double skewSeconds);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Error, Message = "Another process runs as cluster node {NodeId} (its row now names {Address}, started {StartedAt:o}): two nodes of one name take each other's shards; stop one, and give each node its own --node-name.")]
    private static partial void LogNamesake(ILogger logger, string nodeId, string address, DateTime startedAt);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "Leaving the cluster failed; the other nodes take this node's work when its lease ends.")]
    private static partial void LogLeaveFailed(ILogger logger, Exception e);
}
