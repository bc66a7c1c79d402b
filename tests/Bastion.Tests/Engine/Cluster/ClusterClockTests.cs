using Bastion.Engine.Cluster;
using Bastion.Storage;
using Bastion.Storage.Postgres;
using Bastion.Tests.Storage.Postgres;
using Microsoft.Extensions.Logging;

namespace Bastion.Tests.Engine.Cluster;

/// <summary>
/// Each heartbeat reads PostgreSQL's clock: every node's leases are read against its own clock, so one far from the
/// database's would fail over late or serve a shard another node has taken. A node more than a second off is refused
/// at its join (and leaves no row); one that drifts off after says so at once, and again when it is back.
/// </summary>
public sealed class ClusterClockTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private PostgresStorageProvider? _store;

    private PostgresStorageProvider Store => _store ?? throw new InvalidOperationException("Not initialized.");

    public async Task InitializeAsync()
    {
        _store = await PostgresStorageProvider.OpenAsync(await database.CreateDatabaseAsync(), CancellationToken.None);
        await _store.MigrateAsync(4, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private Task<ClusterMembership> JoinAsync(string name, TimeProvider time, ILogger logger) =>
        ClusterMembership.JoinAsync(Store, new ClusterNode(name, $"{name}:7243", time.GetUtcNow().UtcDateTime), time, logger, CancellationToken.None);

    [Theory]
    [InlineData(5, "ahead of")]
    [InlineData(-3, "behind")]
    public async Task ANodeWhoseClockIsOffTheDatabases_IsRefusedAtItsJoin_AndLeavesNoRow(int seconds, string way)
    {
        var refused = await Assert.ThrowsAsync<ClusterClockException>(() => JoinAsync("skewed", new ShiftedTime(TimeSpan.FromSeconds(seconds)), new EventIdLogger(2021, 2022)));

        Assert.InRange(refused.Skew.TotalSeconds, seconds - 0.5, seconds + 0.5);
        Assert.Contains(" s " + way + " the database's", refused.Message, StringComparison.Ordinal);
        Assert.Contains("within 1 s", refused.Message, StringComparison.Ordinal);
        Assert.Empty(await Store.ReadNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ANodeInStep_Joins_AndOneThatDriftsOff_SaysSo_UntilItIsBack()
    {
        var time = new ShiftedTime(TimeSpan.Zero);
        var events = new EventIdLogger(2021, 2022);
        await using var node = await JoinAsync("node", time, events);
        Assert.InRange(node.ClockSkew!.Value.TotalSeconds, -0.5, 0.5); // the same machine's clock, read by the database
        Assert.Empty(events.Ids);

        time.Offset = TimeSpan.FromSeconds(-4);
        await node.RefreshAsync(CancellationToken.None);
        await node.RefreshAsync(CancellationToken.None);
        Assert.InRange(node.ClockSkew!.Value.TotalSeconds, -4.5, -3.5);
        Assert.Equal([2021], events.Ids); // once, not at every heartbeat

        time.Offset = TimeSpan.Zero;
        await node.RefreshAsync(CancellationToken.None);
        Assert.Equal([2021, 2022], events.Ids);
        Assert.Equal(["node"], node.Live.Select(n => n.NodeId)); // still a member meanwhile: the clock is reported, not acted on
    }

    private sealed class ShiftedTime(TimeSpan offset) : TimeProvider
    {
        public TimeSpan Offset { get; set; } = offset;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }
}
