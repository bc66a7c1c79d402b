using Bastion.Engine.History;
using Bastion.Engine.Matching;

namespace Bastion.Tests.Engine.Matching;

/// <summary>
/// A partition's backlog order, as Temporal's matching gives it: priority keys (lower first, unset = 3 of 5, FIFO within
/// a level), then — with fairness on — fairness keys sharing dispatch by weight (stride passes), the queue's weight
/// overrides winning over a task's weight, and each key held to its share of the fairness-key rate limit on a stepped
/// clock. Orders and counts, never timings.
/// </summary>
public sealed class PriorityFairnessTests
{
    private static readonly QueueKey s_queue = new("ns", "ordered", TaskCategory.Activity);

    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private static ActivityTaskItem Item(string id, int priorityKey = 0, string? fairnessKey = null, float weight = 0) =>
        new(new WorkflowKey("ns", id, "run"), 1, 1) { Priority = new TaskPriority(priorityKey, fairnessKey, weight) };

    private static List<string> TakeAll(MatchingEngine matching)
    {
        var taken = new List<string>();
        while (matching.TryTake(s_queue, "worker") is { } item)
        {
            taken.Add(item.Key.WorkflowId);
        }

        return taken;
    }

    [Fact]
    public void LowerPriorityKeysGoFirst_UnsetIsThree_FifoWithinALevel()
    {
        var matching = new MatchingEngine(_time);
        foreach (var item in new[] { Item("p5", 5), Item("p1-a", 1), Item("unset-a"), Item("p2", 2), Item("p1-b", 1), Item("p3", 3), Item("unset-b"), Item("p4", 4) })
        {
            matching.Add(s_queue, item);
        }

        Assert.Equal(["p1-a", "p1-b", "p2", "unset-a", "p3", "unset-b", "p4", "p5"], TakeAll(matching));
    }

    [Fact]
    public void AKeyPastTheLastLevel_GoesToTheLastLevel_AndTheLevelCountIsConfigurable()
    {
        var matching = new MatchingEngine(_time) { PriorityLevels = 3 };
        foreach (var item in new[] { Item("p9", 9), Item("unset"), Item("p3", 3), Item("p1", 1) })
        {
            matching.Add(s_queue, item);
        }

        // Three levels: the default is 2, and 9 and 3 share the last level in arrival order.
        Assert.Equal(["p1", "unset", "p9", "p3"], TakeAll(matching));
    }

    [Fact]
    public void WithPriorityOff_TheBacklogIsFifo()
    {
        var matching = new MatchingEngine(_time) { UsePriority = false };
        foreach (var item in new[] { Item("p5", 5), Item("p1", 1), Item("unset") })
        {
            matching.Add(s_queue, item);
        }

        Assert.Equal(["p5", "p1", "unset"], TakeAll(matching));
    }

    [Fact]
    public void AQueryGoesAheadOfEveryPriority()
    {
        var matching = new MatchingEngine(_time);
        matching.Add(s_queue, Item("p1", 1));
        matching.Add(s_queue, new QueryTaskItem(new WorkflowKey("ns", "query", "run"), "q"), front: true);
        Assert.Equal(["query", "p1"], TakeAll(matching));
    }

    [Fact]
    public void WithFairness_KeysWeighted1To3_ShareDispatch1To3_HoweverLongTheFirstKeysBacklog()
    {
        var matching = new MatchingEngine(_time) { EnableFairness = true };
        for (var i = 0; i < 30; i++)
        {
            matching.Add(s_queue, Item($"big-{i}", fairnessKey: "big", weight: 1));
        }

        for (var i = 0; i < 30; i++)
        {
            matching.Add(s_queue, Item($"small-{i}", fairnessKey: "small", weight: 3));
        }

        var first20 = TakeAll(matching).Take(20).ToList();
        Assert.Equal(15, first20.Count(id => id.StartsWith("small-", StringComparison.Ordinal)));
        Assert.Equal(5, first20.Count(id => id.StartsWith("big-", StringComparison.Ordinal)));

        // FIFO within each key.
        var small = first20.Where(id => id.StartsWith("small-", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(0, 15).Select(i => $"small-{i}"), small);
    }

    [Fact]
    public void WithoutFairness_KeysAreIgnored_AndTheLevelIsFifo()
    {
        var matching = new MatchingEngine(_time);
        matching.Add(s_queue, Item("big-0", fairnessKey: "big"));
        matching.Add(s_queue, Item("big-1", fairnessKey: "big"));
        matching.Add(s_queue, Item("small-0", fairnessKey: "small", weight: 100));
        Assert.Equal(["big-0", "big-1", "small-0"], TakeAll(matching));
    }

    [Fact]
    public void UnkeyedTasks_ShareAsOneKey_WithTheKeyedOnes()
    {
        var matching = new MatchingEngine(_time) { EnableFairness = true };
        for (var i = 0; i < 4; i++)
        {
            matching.Add(s_queue, Item($"unkeyed-{i}"));
        }

        for (var i = 0; i < 4; i++)
        {
            matching.Add(s_queue, Item($"keyed-{i}", fairnessKey: "tenant"));
        }

        Assert.Equal(["unkeyed-0", "keyed-0", "unkeyed-1", "keyed-1", "unkeyed-2", "keyed-2", "unkeyed-3", "keyed-3"], TakeAll(matching));
    }

    [Fact]
    public void PriorityComesBeforeFairness()
    {
        var matching = new MatchingEngine(_time) { EnableFairness = true };
        matching.Add(s_queue, Item("heavy-low", 4, "heavy", 1000));
        matching.Add(s_queue, Item("light-high", 2, "light", 1));
        Assert.Equal(["light-high", "heavy-low"], TakeAll(matching));
    }

    [Fact]
    public void AWeightOverride_WinsOverTheTasksWeight()
    {
        var overrides = new Dictionary<string, float>(StringComparer.Ordinal) { ["small"] = 3 };
        var matching = new MatchingEngine(_time) { EnableFairness = true, ConfiguredFairness = (_, _, _) => (null, overrides) };
        for (var i = 0; i < 20; i++)
        {
            matching.Add(s_queue, Item($"big-{i}", fairnessKey: "big", weight: 1));
            matching.Add(s_queue, Item($"small-{i}", fairnessKey: "small", weight: 1)); // the override makes it 3
        }

        var first8 = TakeAll(matching).Take(8).ToList();
        Assert.Equal(6, first8.Count(id => id.StartsWith("small-", StringComparison.Ordinal)));
    }

    [Fact]
    public void AFairnessKeyRateLimit_HoldsEachKeyToItsWeightedShare_OnTheClock()
    {
        // One task a second per unit of weight: "one" may dispatch 1/s, "two" 2/s (burst: one second of tasks).
        var matching = new MatchingEngine(_time) { EnableFairness = true, ConfiguredFairness = (_, _, _) => (1, null) };
        for (var i = 0; i < 10; i++)
        {
            matching.Add(s_queue, Item($"one-{i}", fairnessKey: "one", weight: 1));
            matching.Add(s_queue, Item($"two-{i}", fairnessKey: "two", weight: 2));
        }

        // Passes: two-0 (500), one-0 (1000), two-1 (1000), two-2 (1500) — "two" has spent its burst of 2: the head waits.
        Assert.Equal(["two-0", "one-0", "two-1"], TakeAll(matching));
        _time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(["two-2"], TakeAll(matching));

        // Over the next four seconds: "one" at 1/s, "two" at 2/s, in stride order, never more.
        var taken = new List<string>();
        for (var step = 0; step < 8; step++)
        {
            _time.Advance(TimeSpan.FromSeconds(0.5));
            taken.AddRange(TakeAll(matching));
        }

        Assert.Equal(4, taken.Count(id => id.StartsWith("one-", StringComparison.Ordinal)));
        Assert.Equal(7, taken.Count(id => id.StartsWith("two-", StringComparison.Ordinal))); // two-3 … two-9: its backlog ran out
    }

    [Fact]
    public async Task AWaitingPoller_GetsAKeyLimitedTask_WhenTheKeysTimeComes()
    {
        var matching = new MatchingEngine(_time) { EnableFairness = true, ConfiguredFairness = (_, _, _) => (1, null) };
        matching.Add(s_queue, Item("a-0", fairnessKey: "a"));
        matching.Add(s_queue, Item("a-1", fairnessKey: "a"));
        Assert.Equal(["a-0"], TakeAll(matching));

        var poll = matching.PollAsync(s_queue, "worker", TimeSpan.FromHours(1), CancellationToken.None);
        Assert.False(poll.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(poll.IsCompleted)));
        Assert.Equal("a-1", (await poll)!.Key.WorkflowId);
    }

    [Fact]
    public void TheBacklog_IsCountedPerPriorityKey()
    {
        var matching = new MatchingEngine(_time);
        matching.Add(s_queue, Item("urgent", 1));
        matching.Add(s_queue, Item("unset-a"));
        matching.Add(s_queue, Item("unset-b"));
        matching.Add(s_queue, Item("late", 5));
        Assert.Equal(new Dictionary<int, int> { [1] = 1, [3] = 2, [5] = 1 }, matching.BacklogByPriority(s_queue));
    }
}
