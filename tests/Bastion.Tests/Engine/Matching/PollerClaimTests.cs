using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Engine.Matching;

/// <summary>
/// A waiting poll claimed by a transition that starts its workflow task in its own commit: the poll gets the started task
/// even if its wait runs out during that commit; a released claim ends the poll empty and leaves no trace in the queue;
/// no claim is made for a poll that already gave up.
/// </summary>
public sealed class PollerClaimTests
{
    private static readonly QueueKey s_queue = new("ns", "queue", TaskCategory.Workflow);

    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private static WorkflowTaskItem Item(int n) => new(new WorkflowKey("ns", $"wf-{n}", "run"), n, 1);

    private static StartedWorkflowTaskItem Started(int n) => new(new WorkflowKey("ns", $"wf-{n}", "run"), new PollWorkflowTaskQueueResponse { StartedEventId = n });

    [Fact]
    public async Task AClaimedPoll_GetsTheStartedTask_EvenWhenItsWaitRanOutDuringTheCommit()
    {
        var matching = new MatchingEngine(_time);
        var poll = matching.PollAsync(s_queue, "worker", TimeSpan.FromSeconds(5), CancellationToken.None);
        var claim = matching.TryClaim(s_queue, Item(1));
        Assert.NotNull(claim);
        Assert.Equal("worker", claim.Identity);
        Assert.Equal(s_queue, claim.Queue);

        _time.Advance(TimeSpan.FromSeconds(10)); // the poll's wait ends while the transition commits
        Assert.False(poll.IsCompleted);

        claim.Deliver(Started(1));
        Assert.Equal(Started(1), await poll.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AReleasedClaim_EndsThePollEmpty_AndTheNextTaskWaitsForTheNextPoll()
    {
        var matching = new MatchingEngine(_time);
        var poll = matching.PollAsync(s_queue, "worker", TimeSpan.FromMinutes(1), CancellationToken.None);
        var claim = matching.TryClaim(s_queue, Item(1))!;
        claim.Release();
        Assert.Null(await poll.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Null(matching.TryClaim(s_queue, Item(2))); // the released poll is not waiting any more
        matching.Add(s_queue, Item(2));
        Assert.Equal(1, matching.BacklogCount(s_queue));
        Assert.Equal(Item(2), await matching.PollAsync(s_queue, "worker", TimeSpan.FromMinutes(1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task NoClaim_ForAPollThatGaveUp_OrOnAQueueNotHeld()
    {
        var matching = new MatchingEngine(_time);
        Assert.Null(matching.TryClaim(s_queue with { Name = "other" }, Item(1)));

        using var gone = new CancellationTokenSource();
        var left = matching.PollAsync(s_queue, "worker", TimeSpan.FromMinutes(1), gone.Token);
        await gone.CancelAsync();
        Assert.Null(await left.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Null(matching.TryClaim(s_queue, Item(1)));

        var timedOut = matching.PollAsync(s_queue, "worker", TimeSpan.FromSeconds(5), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(await timedOut.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Null(matching.TryClaim(s_queue, Item(1)));
    }
}
