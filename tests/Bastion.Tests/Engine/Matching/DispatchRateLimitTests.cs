using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Temporalio.Api.Enums.V1;

namespace Bastion.Tests.Engine.Matching;

/// <summary>
/// Matching enforces a task queue's dispatch rate limit on a stepped clock: the limit set by UpdateTaskQueueConfig,
/// else the one the last poll carried; a burst of one second of tasks, then as many tasks as tokens come. Counted,
/// never timed.
/// </summary>
public sealed class DispatchRateLimitTests
{
    private static readonly QueueKey s_queue = new("ns", "limited", TaskCategory.Activity);

    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private static ActivityTaskItem Item(int n) => new(new WorkflowKey("ns", $"wf-{n}", "run"), n, 1);

    private MatchingEngine Engine(double? apiRate)
    {
        var matching = new MatchingEngine(_time) { ConfiguredRate = (_, _) => apiRate };
        for (var i = 0; i < 20; i++)
        {
            matching.Add(s_queue, Item(i));
        }

        return matching;
    }

    /// <summary>Takes what the queue hands out now, without waiting.</summary>
    private static int TakeAll(MatchingEngine matching)
    {
        var taken = 0;
        while (matching.TryTake(s_queue, "worker") is not null)
        {
            taken++;
        }

        return taken;
    }

    [Fact]
    public void AQueueLimitedToTwoPerSecond_DispatchesTwoPerSecondOfClock()
    {
        var matching = Engine(apiRate: 2);
        Assert.Equal(2, TakeAll(matching)); // the burst: one second of tasks
        Assert.Equal(0, TakeAll(matching));
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1, TakeAll(matching));
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(2, TakeAll(matching)); // tokens do not pile up past the burst
        Assert.Equal(15, matching.BacklogCount(s_queue));
    }

    [Fact]
    public void AnUnlimitedQueue_DispatchesEverything()
    {
        Assert.Equal(20, TakeAll(Engine(apiRate: null)));
    }

    [Fact]
    public void ALimitOfZero_StopsDispatch_UntilTheLimitIsLifted()
    {
        double? rate = 0;
        var matching = new MatchingEngine(_time) { ConfiguredRate = (_, _) => rate };
        matching.Add(s_queue, Item(1));
        Assert.Equal(0, TakeAll(matching));
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, TakeAll(matching));

        rate = null;
        matching.ConfiguredRateChanged("ns", "limited");
        Assert.Equal(1, TakeAll(matching));
    }

    [Fact]
    public async Task WaitingPollers_GetTheHeldBackTasks_AsTheClockGivesTokens()
    {
        var matching = Engine(apiRate: 1);
        Assert.Equal(1, TakeAll(matching));
        var polls = Enumerable.Range(0, 3).Select(_ => matching.PollAsync(s_queue, "worker", TimeSpan.FromHours(1), CancellationToken.None)).ToList();
        Assert.All(polls, p => Assert.False(p.IsCompleted));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(polls.Count(p => p.IsCompleted) == 1)));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(polls.Count(p => p.IsCompleted) == 2)));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(polls.Count(p => p.IsCompleted) == 3)));
        Assert.All(polls, p => Assert.NotNull(p.Result));
        Assert.Equal(16, matching.BacklogCount(s_queue));
    }

    [Fact]
    public void TheApiLimit_OverridesTheWorkersLimit_AndTheWorkersLimitAppliesWithoutOne()
    {
        double? api = null;
        var matching = new MatchingEngine(_time) { ConfiguredRate = (_, _) => api };
        for (var i = 0; i < 20; i++)
        {
            matching.Add(s_queue, Item(i));
        }

        matching.WorkerRatePolled(s_queue, 3);
        Assert.Equal((3.0, RateLimitSource.Worker), matching.EffectiveRate(s_queue));
        Assert.Equal(3, TakeAll(matching));

        api = 1;
        matching.ConfiguredRateChanged("ns", "limited");
        Assert.Equal((1.0, RateLimitSource.Api), matching.EffectiveRate(s_queue));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, TakeAll(matching));

        // A poll without a limit clears the worker's; the API's still holds.
        matching.WorkerRatePolled(s_queue, null);
        Assert.Equal((1.0, RateLimitSource.Api), matching.EffectiveRate(s_queue));
        api = null;
        matching.ConfiguredRateChanged("ns", "limited");
        Assert.Null(matching.EffectiveRate(s_queue));
        Assert.Equal(16, TakeAll(matching));
    }

    [Fact]
    public void WorkflowQueues_AreNeverLimited()
    {
        var workflowQueue = s_queue with { Type = TaskCategory.Workflow };
        var matching = new MatchingEngine(_time) { ConfiguredRate = (_, _) => 1 };
        matching.WorkerRatePolled(workflowQueue, 1);
        for (var i = 0; i < 5; i++)
        {
            matching.Add(workflowQueue, new WorkflowTaskItem(new WorkflowKey("ns", $"wf-{i}", "run"), 2, 1));
        }

        var taken = 0;
        while (matching.TryTake(workflowQueue, "worker") is not null)
        {
            taken++;
        }

        Assert.Equal(5, taken);
        Assert.Null(matching.EffectiveRate(workflowQueue));
    }
}
