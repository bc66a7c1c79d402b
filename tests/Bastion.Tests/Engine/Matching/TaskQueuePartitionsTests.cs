using Bastion.Engine.History;
using Bastion.Engine.Matching;

namespace Bastion.Tests.Engine.Matching;

/// <summary>
/// A task queue's partitions in one matching engine, its root reached through the same offer a cluster sends over the
/// wire: a task lands on a partition with no poller and still reaches a poller waiting at the root, at once or, when
/// none waits, the next that comes there (the offer is held); an offer no poller takes comes back to its partition, and
/// nothing is lost when the root cannot be reached.
/// </summary>
public sealed class TaskQueuePartitionsTests
{
    private static readonly QueueKey s_root = new("ns", "queue", TaskCategory.Activity);
    private static readonly QueueKey s_child = s_root with { Partition = 2 };

    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private static ActivityTaskItem Item(int n) => new(new WorkflowKey("ns", $"wf-{n}", "run"), n, 1);

    private MatchingEngine Engine(Func<QueueKey, MatchItem, Task<bool>>? offer = null)
    {
        var matching = new MatchingEngine(_time);
        matching.OfferToRoot = offer is null
            ? (root, item, hold) => matching.HoldAsync(root, item, hold, CancellationToken.None)
            : (root, item, _) => offer(root, item);
        return matching;
    }

    /// <summary>An engine whose partition kept a task no poller waited for, that task now held at the root.</summary>
    private async Task<MatchingEngine> KeptAtTheRootAsync()
    {
        var matching = Engine();
        matching.Add(s_child, Item(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(matching.BacklogCount(s_root) == 1), TimeSpan.FromSeconds(10)));
        return matching;
    }

    [Fact]
    public async Task ATaskOnAPartitionWithoutPollers_GoesToAPollerWaitingAtTheRoot()
    {
        var matching = Engine();
        var poll = matching.PollAsync(s_root, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        matching.Add(s_child, Item(1));
        Assert.Equal(Item(1), await poll.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, matching.BacklogCount(s_child));
    }

    [Fact]
    public async Task APartitionsOwnPoller_IsMatchedFirst()
    {
        var offers = 0;
        var matching = Engine((_, _) =>
        {
            Interlocked.Increment(ref offers);
            return Task.FromResult(false);
        });
        var poll = matching.PollAsync(s_child, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        matching.Add(s_child, Item(1));
        Assert.Equal(Item(1), await poll.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, offers);
    }

    [Fact]
    public async Task AKeptTask_WaitsAtTheRoot_AndTheNextPollerThereTakesIt()
    {
        var matching = await KeptAtTheRootAsync();
        Assert.Equal(0, matching.BacklogCount(s_child));

        // No time passes: the poller does not wait for a next offer.
        var poll = matching.PollAsync(s_root, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(Item(1), await poll.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, matching.BacklogCount(s_root));
        Assert.Equal(0, matching.BacklogCount(s_child));
    }

    [Fact]
    public async Task AnOfferNoPollerTakes_ComesBackToItsPartition_WhoseOwnPollerGetsIt()
    {
        var matching = await KeptAtTheRootAsync();
        var poll = matching.PollAsync(s_child, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.False(poll.IsCompleted);

        _time.Advance(MatchingEngine.OfferHold);
        Assert.Equal(Item(1), await poll.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, matching.BacklogCount(s_root));
    }

    [Fact]
    public async Task AKeptTask_IsOfferedAgain_AfterItsHoldRanOut()
    {
        var matching = await KeptAtTheRootAsync();
        _time.Advance(MatchingEngine.OfferHold);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(matching.BacklogCount(s_root) == 1 && matching.BacklogCount(s_child) == 0), TimeSpan.FromSeconds(10)));
        Assert.Equal(Item(1), await matching.PollAsync(s_root, "worker", TimeSpan.FromMinutes(1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AHeldOffer_WhoseSenderLeft_IsNotGivenToALaterPoller()
    {
        var matching = new MatchingEngine(_time);
        using var sender = new CancellationTokenSource();
        var offer = matching.HoldAsync(s_root, Item(1), TimeSpan.FromMinutes(1), sender.Token);
        Assert.Equal(1, matching.BacklogCount(s_root));
        await sender.CancelAsync();
        Assert.False(await offer.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, matching.BacklogCount(s_root));
        Assert.Null(matching.TryTake(s_root, "worker"));
    }

    [Fact]
    public async Task TheRootsOwnBacklog_GoesBeforeWhatOtherPartitionsOffer()
    {
        var matching = new MatchingEngine(_time);
        matching.Add(s_root, Item(1));
        var offer = matching.HoldAsync(s_root, Item(2), TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(Item(1), await matching.PollAsync(s_root, "worker", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.False(offer.IsCompleted);
        Assert.Equal(Item(2), await matching.PollAsync(s_root, "worker", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.True(await offer.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AnUnreachableRoot_KeepsTheTaskOnItsPartition_ForItsOwnPollers()
    {
        var matching = Engine((_, _) => Task.FromException<bool>(new InvalidOperationException("the root's node is gone")));
        matching.Add(s_child, Item(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(matching.BacklogCount(s_child) == 1), TimeSpan.FromSeconds(10)));
        _time.Advance(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Item(1), matching.TryTake(s_child, "worker"));
    }

    [Fact]
    public async Task ARateLimitOfZero_HoldsAPartitionsTasks_FromTheRootToo()
    {
        var matching = Engine();
        matching.ConfiguredRate = (_, _) => 0;
        matching.Add(s_child, Item(1));
        var poll = matching.PollAsync(s_root, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }

        Assert.False(poll.IsCompleted);
        Assert.Equal(1, matching.BacklogCount(s_child));
        Assert.Equal(0, matching.BacklogCount(s_root));
    }

    [Fact]
    public void OnePollAtATime_WaitsAtTheRoot()
    {
        var matching = Engine();
        Assert.True(matching.TryBeginForward(s_child));
        Assert.False(matching.TryBeginForward(s_child));
        matching.EndForward(s_child);
        Assert.True(matching.TryBeginForward(s_child));
    }

    [Fact]
    public void WithoutACluster_APartitionKeepsWhatItIsGiven()
    {
        var matching = new MatchingEngine(_time);
        matching.Add(s_child, Item(1));
        Assert.Equal(1, matching.BacklogCount(s_child));
    }
}
