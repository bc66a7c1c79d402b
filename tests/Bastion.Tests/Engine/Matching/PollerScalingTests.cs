using Bastion.Engine.History;
using Bastion.Engine.Matching;

namespace Bastion.Tests.Engine.Matching;

/// <summary>
/// Poller scaling decisions, Temporal's rule: a poll that waited a second or more for its task suggests one poll fewer;
/// a backlog older than 200 ms suggests one more; a root partition whose tasks arrive faster than they leave suggests
/// one more; at most so many decisions per second per poller; otherwise none.
/// </summary>
public sealed class PollerScalingTests
{
    private static readonly QueueKey s_queue = new("ns", "queue", TaskCategory.Workflow);

    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    private static WorkflowTaskItem Item(int n) => new(new WorkflowKey("ns", $"wf-{n}", "run"), n, 1);

    [Fact]
    public void ABacklogOlderThanTheMinimum_AsksForOneMorePoll_AYoungOneForNone()
    {
        // A partition other than the root, where the backlog is the only reason to ask for more.
        var matching = new MatchingEngine(_time);
        var partition = s_queue with { Partition = 2 };
        for (var i = 0; i < 4; i++)
        {
            matching.Add(partition, Item(i));
        }

        var polled = Now;
        Assert.NotNull(matching.TryTake(partition, "worker"));
        Assert.Null(matching.ScalingDecision(partition, polled)); // 3 wait, for 0 ms

        _time.Advance(TimeSpan.FromMilliseconds(300));
        polled = Now;
        Assert.NotNull(matching.TryTake(partition, "worker"));
        Assert.Equal(1, matching.ScalingDecision(partition, polled)); // the next has waited 300 ms
    }

    [Fact]
    public async Task APollThatWaitedASecond_AsksForOnePollFewer()
    {
        var matching = new MatchingEngine(_time);
        var polled = Now;
        var poll = matching.PollAsync(s_queue, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        matching.Add(s_queue, Item(1));
        Assert.Equal(Item(1), await poll.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(-1, matching.ScalingDecision(s_queue, polled));
    }

    [Fact]
    public void TasksArrivingFasterThanTheyLeave_AskTheRootForOneMorePoll_ButNotAnotherPartition()
    {
        var matching = new MatchingEngine(_time);
        var partition = s_queue with { Partition = 1 };
        foreach (var queue in new[] { s_queue, partition })
        {
            for (var i = 0; i < 3; i++)
            {
                matching.Add(queue, Item(i)); // three arrive, one leaves: a ratio of 3 against Temporal's 1.2
            }

            var polled = Now;
            Assert.NotNull(matching.TryTake(queue, "worker"));
            Assert.Equal(queue.IsRoot ? 1 : null, matching.ScalingDecision(queue, polled));
        }
    }

    [Fact]
    public void Decisions_AreLimitedPerSecondPerPoller()
    {
        var matching = new MatchingEngine(_time);
        matching.PollerScaling.DecisionsPerSecond = 2;
        for (var i = 0; i < 10; i++)
        {
            matching.Add(s_queue, Item(i));
        }

        _time.Advance(TimeSpan.FromSeconds(0.5)); // the backlog is old: each decision it is allowed is +1
        var decisions = Enumerable.Range(0, 4).Select(_ =>
        {
            var polled = Now;
            matching.TryTake(s_queue, "worker");
            return matching.ScalingDecision(s_queue, polled);
        }).ToList();
        Assert.Equal(new int?[] { 1, 1, null, null }, decisions); // two a second for the one poller seen

        _time.Advance(TimeSpan.FromSeconds(0.5)); // one more has accrued
        var polledAgain = Now;
        matching.TryTake(s_queue, "worker");
        Assert.Equal(1, matching.ScalingDecision(s_queue, polledAgain));
        matching.TryTake(s_queue, "worker");
        Assert.Null(matching.ScalingDecision(s_queue, Now));
    }

    [Fact]
    public void AQueueNotHeld_HasNoDecision()
    {
        var matching = new MatchingEngine(_time);
        Assert.Null(matching.ScalingDecision(s_queue, Now));
    }

    [Fact]
    public void PollersNotSeenWithinTheWindow_AreForgotten()
    {
        var matching = new MatchingEngine(_time);
        matching.PollerScaling.DecisionsPerSecond = 1;
        matching.TryTake(s_queue, "old-worker");
        _time.Advance(MatchingEngine.PollerWindow + TimeSpan.FromSeconds(1));
        for (var i = 0; i < 10; i++)
        {
            matching.Add(s_queue, Item(i));
        }

        _time.Advance(TimeSpan.FromSeconds(1)); // the backlog is old: each decision allowed is +1
        Assert.Equal(1, Decide(matching, "worker"));
        Assert.Null(Decide(matching, "worker")); // one poller seen in the window: one decision a second
        Assert.Equal(["worker"], matching.RecentPollers(s_queue, TimeSpan.FromDays(1)).Select(p => p.Identity)); // forgotten, not just old
    }

    private int? Decide(MatchingEngine matching, string identity)
    {
        var polled = Now;
        Assert.NotNull(matching.TryTake(s_queue, identity));
        return matching.ScalingDecision(s_queue, polled);
    }

    [Fact]
    public void Stats_GiveTheOldestWaitingItemsAge_AndTheAddAndDispatchRates_OverAllPartitions()
    {
        var matching = new MatchingEngine(_time);
        Assert.Equal((TimeSpan.Zero, 0.0, 0.0), matching.Stats(s_queue));
        matching.Add(s_queue with { Partition = 1 }, Item(1));
        _time.Advance(TimeSpan.FromSeconds(2));
        matching.Add(s_queue, Item(2));
        matching.Add(s_queue, Item(3));
        Assert.NotNull(matching.TryTake(s_queue, "worker"));

        var (age, added, dispatched) = matching.Stats(s_queue);
        Assert.Equal(TimeSpan.FromSeconds(2), age); // partition 1's item, waiting since before the others
        Assert.Equal(0.3, added, 3); // three in the last ten seconds
        Assert.Equal(0.1, dispatched, 3);
        Assert.Equal((TimeSpan.Zero, 0.0, 0.0), matching.Stats(s_queue with { Type = TaskCategory.Activity }));
    }
}

