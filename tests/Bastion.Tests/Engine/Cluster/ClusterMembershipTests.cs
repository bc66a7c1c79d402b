using Bastion.Engine.Cluster;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bastion.Tests.Engine.Cluster;

/// <summary>The live set as each node sees it through the database's rows and leases.</summary>
public sealed class ClusterMembershipTests : IAsyncLifetime
{
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync() => await _store.MigrateAsync(4, CancellationToken.None);

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private Task<ClusterMembership> JoinAsync(string name, IMembershipStore? store = null) =>
        ClusterMembership.JoinAsync(store ?? _store, new ClusterNode(name, $"{name}:7243", _time.GetUtcNow().UtcDateTime), _time, NullLogger.Instance, CancellationToken.None);

    private static string[] Names(IReadOnlyList<ClusterNode> nodes) => [.. nodes.Select(n => n.NodeId)];

    private Task<ClusterMembership> JoinAsync(string name, byte oldest, byte newest) =>
        ClusterMembership.JoinAsync(_store, new ClusterNode(name, $"{name}:7243", _time.GetUtcNow().UtcDateTime, oldest, newest), _time, NullLogger.Instance, CancellationToken.None);

    /// <summary>
    /// A node that joined since another last refreshed is live to that one's fresh read of the database, though not yet in
    /// its live set: a change of settings is announced to it (it may have read them before the change).
    /// </summary>
    [Fact]
    public async Task ANodeJoinedSinceTheLastRefresh_IsInAFreshReadOfTheLiveNodes()
    {
        await using var a = await JoinAsync("a");
        await using var b = await JoinAsync("b");
        Assert.Equal(["a"], Names(a.Live));
        Assert.Equal(["a", "b"], Names([.. (await a.ReadLiveNowAsync(CancellationToken.None)).OrderBy(n => n.NodeId, StringComparer.Ordinal)]));

        await b.DisposeAsync(); // left: gone from the fresh read at once
        Assert.Equal(["a"], Names(await a.ReadLiveNowAsync(CancellationToken.None)));
    }

    /// <summary>The live set's log line says what changed: a restart keeps the names, so they alone would not tell it.</summary>
    [Fact]
    public void ALiveSetChange_IsDescribed_JoinedLeftAndStartedAgain()
    {
        var t = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        ClusterNode Node(string name, int startedSecond, string? address = null) => new(name, address ?? $"{name}:7243", t.AddSeconds(startedSecond));

        Assert.Equal("joined: c", ClusterMembership.DescribeChange([Node("a", 0), Node("b", 0)], [Node("a", 0), Node("b", 0), Node("c", 5)]));
        Assert.Equal("left: b", ClusterMembership.DescribeChange([Node("a", 0), Node("b", 0)], [Node("a", 0)]));
        Assert.Equal("started again: b", ClusterMembership.DescribeChange([Node("a", 0), Node("b", 0)], [Node("a", 0), Node("b", 9)]));
        Assert.Equal("started again: b", ClusterMembership.DescribeChange([Node("a", 0), Node("b", 0)], [Node("a", 0), Node("b", 0, "b2:7243")]));
        Assert.Equal("joined: d; left: a; started again: b", ClusterMembership.DescribeChange([Node("a", 0), Node("b", 0)], [Node("b", 3), Node("d", 3)]));
    }

    /// <summary>
    /// A rolling upgrade: a node of the next build (reading 3 and 4) joins nodes of this one (3) and writes them 3, while
    /// two nodes of the next build write each other 4; a build two releases on (4–5) is refused while a 3-only node lives,
    /// naming both ranges, and joins once that node is gone.
    /// </summary>
    [Fact]
    public async Task NodesOfTwoBuilds_WriteTheNewestVersionBothRead_AndABuildTwoReleasesApart_IsRefused()
    {
        await using var old = await JoinAsync("old", 3, 3);
        await using var upgraded = await JoinAsync("upgraded", 3, 4);
        await using var next = await JoinAsync("next", 3, 4);
        await upgraded.RefreshAsync(CancellationToken.None);
        Assert.Equal(("old:7243", (byte)3), upgraded.Reach("old"));
        Assert.Equal(("next:7243", (byte)4), upgraded.Reach("next"));
        Assert.Null(upgraded.Reach("gone"));

        var refused = await Assert.ThrowsAsync<ClusterVersionException>(() => JoinAsync("far", 4, 5));
        Assert.Contains("old", refused.Message, StringComparison.Ordinal);
        Assert.Contains("3 to 3", refused.Message, StringComparison.Ordinal);
        Assert.Contains("4 to 5", refused.Message, StringComparison.Ordinal);

        await old.DisposeAsync(); // leaves: its row goes
        await using var far = await JoinAsync("far", 4, 5);
        await far.RefreshAsync(CancellationToken.None);
        Assert.Equal(("next:7243", (byte)4), far.Reach("next"));
    }

    /// <summary>
    /// Two processes under one node name would take each other's shards endlessly (each acquire fences the other): a
    /// node named as a live node at another address is refused, naming it; the same node started again at its address
    /// (its last run's row still live after a crash) joins, and once the holder left, the name is free.
    /// </summary>
    [Fact]
    public async Task ANameHeldByALiveNodeElsewhere_IsRefused_ButTheNodeStartedAgainAtItsAddress_Joins()
    {
        await using var holder = await JoinAsync("a");
        var now = _time.GetUtcNow().UtcDateTime;

        var refused = await Assert.ThrowsAsync<ClusterNameException>(() =>
            ClusterMembership.JoinAsync(_store, new ClusterNode("a", "copied-unit:7243", now), _time, NullLogger.Instance, CancellationToken.None));
        Assert.Contains("a:7243", refused.Message, StringComparison.Ordinal);
        Assert.Contains("--node-name", refused.Message, StringComparison.Ordinal);
        Assert.Equal("a:7243", (await _store.ReadNodesAsync(CancellationToken.None)).Single().Node.Address); // the holder's row stands

        await using (var restarted = await JoinAsync("a"))
        {
            Assert.Equal(["a"], Names(restarted.Live));
        }

        await holder.DisposeAsync();
        await using var renamed = await ClusterMembership.JoinAsync(_store, new ClusterNode("a", "new-host:7243", now), _time, NullLogger.Instance, CancellationToken.None);
        Assert.Equal("new-host:7243", renamed.AddressOf("a"));
    }

    /// <summary>Two processes of one name started at once (neither refused): the row another one writes between a heartbeat and its read is noticed, once.</summary>
    [Fact]
    public async Task AnotherProcessWritingThisNodesRow_IsLogged()
    {
        var twin = new TwinWritingStore(_store);
        var events = new EventIdLogger(2023);
        await using var node = await ClusterMembership.JoinAsync(twin, new ClusterNode("a", "a:7243", _time.GetUtcNow().UtcDateTime), _time, events, CancellationToken.None);
        Assert.Empty(events.Ids);

        twin.Writing = true;
        await node.RefreshAsync(CancellationToken.None);
        await node.RefreshAsync(CancellationToken.None);
        Assert.Equal([2023], events.Ids);
    }

    /// <summary>After each heartbeat, a second process of the same name writes the row too (when <see cref="Writing"/>).</summary>
    private sealed class TwinWritingStore(IMembershipStore inner) : IMembershipStore
    {
        public bool Writing { get; set; }

        public async Task<DateTime?> HeartbeatAsync(ClusterNode node, DateTime leaseUntil, CancellationToken cancellationToken)
        {
            var written = await inner.HeartbeatAsync(node, leaseUntil, cancellationToken);
            if (Writing)
            {
                await inner.HeartbeatAsync(node with { Address = "twin:7243" }, leaseUntil, cancellationToken);
            }

            return written;
        }

        public Task LeaveAsync(string nodeId, CancellationToken cancellationToken) => inner.LeaveAsync(nodeId, cancellationToken);

        public Task<IReadOnlyList<ClusterNodeRecord>> ReadNodesAsync(CancellationToken cancellationToken) => inner.ReadNodesAsync(cancellationToken);
    }

    [Fact]
    public async Task Nodes_SeeEachOther_AndADepartedOne_DropsOut()
    {
        var killable = new SwitchableMembershipStore(_store);
        await using var a = await JoinAsync("a");
        await using var b = await JoinAsync("b", killable);
        Assert.Equal(["a", "b"], Names(b.Live));
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], Names(a.Live));
        Assert.Equal("b:7243", a.AddressOf("b"));

        var seen = new List<string[]>();
        a.Refreshed = (live, _) =>
        {
            lock (seen)
            {
                seen.Add(Names(live));
            }

            return Task.CompletedTask;
        };

        // b is killed (it writes nothing more): a keeps it until b's lease is over, then drops it.
        killable.Down = true;
        _time.Advance(ClusterMembership.LeaseDuration - TimeSpan.FromSeconds(1));
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], Names(a.Live));
        _time.Advance(TimeSpan.FromSeconds(2));
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a"], Names(a.Live));
        Assert.Null(a.AddressOf("b"));
        lock (seen)
        {
            Assert.Equal(["a"], seen[^1]); // told after every refresh, the last with b gone
            Assert.Contains(seen, s => s.Length == 2);
        }
    }

    /// <summary>
    /// A node started again between two refreshes of another (stopped and back, or killed and back while its lease
    /// held) is a change of the live set though its name and address are the same: its task queues' items went with
    /// the process, and only a change makes the others hand their work out again.
    /// </summary>
    [Fact]
    public async Task ANodeStartedAgain_BetweenTwoRefreshesOfAnother_IsAChange()
    {
        await using var a = await JoinAsync("a");
        var b = await JoinAsync("b");
        await a.RefreshAsync(CancellationToken.None);
        var changes = new List<bool>();
        a.Refreshed = (_, changed) =>
        {
            changes.Add(changed);
            return Task.CompletedTask;
        };

        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal([false], changes);

        await b.DisposeAsync(); // stopped, and started again before a's next refresh
        _time.Advance(TimeSpan.FromMilliseconds(100)); // a start time of its own, no heartbeat loop due
        var killable = new SwitchableMembershipStore(_store);
        b = await JoinAsync("b", killable);
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal([false, true], changes);
        Assert.Equal(["a", "b"], Names(a.Live));

        // Killed (it writes nothing more, and no leave: its row's lease still holds) and started again at its address.
        killable.Down = true;
        _time.Advance(TimeSpan.FromMilliseconds(100)); // a start time of its own, no heartbeat loop due
        await using var again = await JoinAsync("b");
        await a.RefreshAsync(CancellationToken.None);
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal([false, true, true, false], changes);
        await b.DisposeAsync();
    }

    [Fact]
    public async Task ANodeThatLeaves_IsGoneAtOnce()
    {
        await using var a = await JoinAsync("a");
        var b = await JoinAsync("b");
        await b.DisposeAsync();
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a"], Names(a.Live));
    }

    /// <summary>
    /// Cut off from the database, a node drops itself from its own view and is told to stop serving its shards
    /// <see cref="ClusterMembership.SelfMargin"/> before its lease ends, while the others still count it live (so none
    /// may take its shards yet); when heartbeats work again it is back.
    /// </summary>
    [Fact]
    public async Task ANodeCutOffFromTheDatabase_StopsServing_BeforeTheOthersDropIt()
    {
        var cutOff = new SwitchableMembershipStore(_store);
        await using var a = await JoinAsync("a", cutOff);
        await using var b = await JoinAsync("b");
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], Names(a.Live));
        var ended = 0;
        a.SelfLeaseEnded = () => Interlocked.Increment(ref ended);

        cutOff.Down = true;
        _time.Advance(ClusterMembership.LeaseDuration - ClusterMembership.SelfMargin - TimeSpan.FromSeconds(1));
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], Names(a.Live)); // its lease still runs: it still serves
        Assert.Equal(0, ended);

        _time.Advance(TimeSpan.FromSeconds(1.5)); // no refresh needed: its own timer tells it
        Assert.Equal(1, ended);
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["b"], Names(a.Live)); // no shard is assigned to it any more
        await b.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], Names(b.Live)); // the others do not take its shards yet

        _time.Advance(ClusterMembership.SelfMargin);
        await b.RefreshAsync(CancellationToken.None);
        Assert.Equal(["b"], Names(b.Live));

        cutOff.Down = false;
        await a.RefreshAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], Names(a.Live));
        _time.Advance(ClusterMembership.LeaseDuration - ClusterMembership.SelfMargin - TimeSpan.FromSeconds(1));
        Assert.Equal(1, ended); // renewed: its timer moved on
    }

    /// <summary>
    /// A heartbeat that never returns (a database that stopped answering) does not keep the node serving past its lease,
    /// nor its heartbeat loop waiting for ever.
    /// </summary>
    [Fact]
    public async Task ANodeWhoseDatabaseHangs_IsToldToStopServing_OnTime()
    {
        var hanging = new SwitchableMembershipStore(_store);
        await using var a = await JoinAsync("a", hanging);
        var ended = 0;
        a.SelfLeaseEnded = () => Interlocked.Increment(ref ended);
        hanging.Hang = true;
        var stuck = a.RefreshAsync(CancellationToken.None);
        Assert.False(stuck.IsCompleted);
        _time.Advance(ClusterMembership.LeaseDuration - ClusterMembership.SelfMargin);
        Assert.Equal(1, ended);
        await stuck.WaitAsync(TimeSpan.FromSeconds(30)); // the heartbeat is given up after a few seconds, not waited for
        Assert.DoesNotContain("a", Names(a.Live));
    }

    [Fact]
    public async Task AStandaloneServer_IsItsOwnLiveSet_AndWritesNoRow()
    {
        await using var other = await JoinAsync("other");
        await using var standalone = ClusterMembership.Standalone("standalone", _time, NullLogger.Instance);
        await standalone.RefreshAsync(CancellationToken.None);
        Assert.Equal(["standalone"], Names(standalone.Live));
        Assert.Equal(["other"], (await _store.ReadNodesAsync(CancellationToken.None)).Select(r => r.Node.NodeId));
    }

    private sealed class SwitchableMembershipStore(IMembershipStore inner) : IMembershipStore
    {
        public bool Down { get; set; }

        /// <summary>Heartbeats wait until cancelled, as on a connection whose packets go nowhere.</summary>
        public bool Hang { get; set; }

        public async Task<DateTime?> HeartbeatAsync(ClusterNode node, DateTime leaseUntil, CancellationToken cancellationToken)
        {
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return Down ? throw new IOException("database unreachable") : await inner.HeartbeatAsync(node, leaseUntil, cancellationToken);
        }

        public Task LeaveAsync(string nodeId, CancellationToken cancellationToken) =>
            Down ? throw new IOException("database unreachable") : inner.LeaveAsync(nodeId, cancellationToken);

        public Task<IReadOnlyList<ClusterNodeRecord>> ReadNodesAsync(CancellationToken cancellationToken) =>
            Down ? throw new IOException("database unreachable") : inner.ReadNodesAsync(cancellationToken);
    }
}
