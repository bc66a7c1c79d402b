using Bastion.Engine.Cluster;
using Bastion.Engine.History;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bastion.Tests.Engine.Cluster;

/// <summary>
/// Shards move between nodes by the assignment, through the database: a node takes what rendezvous hashing gives it
/// unless a live holder still has it (that holder releases it when it sees the change), releases what it no longer gets,
/// and takes a departed node's shards at once (the range id fences that node off).
/// </summary>
public sealed class ShardAssignmentTests : IAsyncLifetime
{
    private const int Shards = 16;
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<ShardController> _controllers = [];
    private readonly Dictionary<string, List<string>> _events = [];

    public async Task InitializeAsync() => await _store.MigrateAsync(Shards, CancellationToken.None);

    public async Task DisposeAsync()
    {
        foreach (var controller in _controllers)
        {
            await controller.DisposeAsync();
        }

        await _store.DisposeAsync();
    }

    private ShardController Node(string name)
    {
        var events = _events[name] = [];
        var controller = ShardController.Create(_store, Shards, name, _time, NullLogger.Instance);
        controller.Acquired = shard =>
        {
            events.Add($"+{shard}");
            return Task.CompletedTask;
        };
        controller.Dropped = shard => events.Add($"-{shard}");
        _controllers.Add(controller);
        return controller;
    }

    private static int[] Owned(ShardController c) => [.. Enumerable.Range(0, Shards).Where(c.Owns)];

    private static int[] AssignedTo(string node, params string[] live) =>
        [.. Enumerable.Range(0, Shards).Where(s => Rendezvous.OwnerOf(Rendezvous.ShardKey(s), live) == node)];

    private async Task<Dictionary<int, ShardRecord>> RowsAsync() => (await _store.ReadShardsAsync(CancellationToken.None)).ToDictionary(r => r.ShardId);

    [Fact]
    public async Task AJoiningNode_WaitsForTheLiveHolder_ToRelease_ThenTakesItsShareOnly()
    {
        var a = Node("a");
        await a.AssignAsync(["a"], CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, Shards), Owned(a));
        var ranges = (await RowsAsync()).ToDictionary(r => r.Key, r => r.Value.RangeId);

        var b = Node("b");
        await b.AssignAsync(["a", "b"], CancellationToken.None); // b sees itself before a sees b: a still holds them
        Assert.Empty(Owned(b));

        await a.AssignAsync(["a", "b"], CancellationToken.None);
        Assert.Equal(AssignedTo("a", "a", "b"), Owned(a));
        var released = AssignedTo("b", "a", "b");
        Assert.NotEmpty(released);
        Assert.Equal(released.Select(s => $"-{s}"), _events["a"].Where(e => e[0] == '-'));
        Assert.All(released, s => Assert.Null(RowsAsync().Result[s].Owner));

        await b.AssignAsync(["a", "b"], CancellationToken.None);
        Assert.Equal(released, Owned(b));
        var rows = await RowsAsync();
        Assert.All(released, s => Assert.Equal(("b", ranges[s] + 1), (rows[s].Owner, rows[s].RangeId)));
        Assert.All(AssignedTo("a", "a", "b"), s => Assert.Equal(("a", ranges[s]), (rows[s].Owner, rows[s].RangeId))); // unmoved
    }

    [Fact]
    public async Task ADepartedNodesShards_AreTakenAtOnce_AndItsCommitsFenced()
    {
        var a = Node("a");
        var b = Node("b");
        await a.AssignAsync(["a", "b"], CancellationToken.None);
        await b.AssignAsync(["a", "b"], CancellationToken.None);
        Assert.Equal(Shards, Owned(a).Length + Owned(b).Length);
        var lostByA = Owned(a);
        var leaseOfA = (await RowsAsync())[lostByA[0]];

        // a stops heartbeating (killed, or cut off): b's view drops it while a's leases still run.
        Assert.True(leaseOfA.LeaseUntil > _time.GetUtcNow().UtcDateTime);
        await b.AssignAsync(["b"], CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, Shards), Owned(b));

        // a's next write of such a shard is refused inside its transaction; its renewal finds them gone and drops them.
        await Assert.ThrowsAsync<ShardOwnershipLostException>(() => _store.RenewShardAsync(new ShardLease(leaseOfA.ShardId, leaseOfA.RangeId, "a", leaseOfA.LeaseUntil), leaseOfA.LeaseUntil, CancellationToken.None));
        await a.RenewAsync(CancellationToken.None);
        Assert.Empty(Owned(a));
        Assert.Equal(lostByA.Select(s => $"-{s}"), _events["a"].Where(e => e[0] == '-'));
    }

    [Fact]
    public async Task AStandaloneServer_TakesEveryShard_EvenFromALiveLeaseOfAnotherServer()
    {
        var other = Node("other");
        await other.AssignAsync(["other"], CancellationToken.None);
        var standalone = Node("standalone");
        await standalone.AssignAsync(["standalone"], CancellationToken.None); // its live set is itself: the other is no member
        Assert.Equal(Enumerable.Range(0, Shards), Owned(standalone));
        await other.RenewAsync(CancellationToken.None);
        Assert.Empty(Owned(other));
    }

    [Fact]
    public async Task AReleasedNode_StopsServingBeforeTheDatabaseRowIsReleased()
    {
        var a = Node("a");
        await a.AssignAsync(["a"], CancellationToken.None);
        var ownedWhenDropped = new List<bool>();
        var rowOwnerWhenDropped = new List<string?>();
        a.Dropped = shard =>
        {
            ownedWhenDropped.Add(a.Owns(shard));
            rowOwnerWhenDropped.Add(RowsAsync().Result[shard].Owner);
        };
        await a.AssignAsync(["a", "b"], CancellationToken.None);
        Assert.NotEmpty(ownedWhenDropped);
        Assert.All(ownedWhenDropped, Assert.False);
        Assert.All(rowOwnerWhenDropped, o => Assert.Equal("a", o));
    }
}
