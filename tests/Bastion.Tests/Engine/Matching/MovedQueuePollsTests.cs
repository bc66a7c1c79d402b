using Bastion.Engine.History;
using Bastion.Engine.Matching;

namespace Bastion.Tests.Engine.Matching;

/// <summary>
/// When the cluster's members change, the polls waiting on a queue that lives on another node now end empty (their
/// workers poll again, and reach that node); polls on queues still owned here keep waiting, and a poll that was given
/// its item keeps it.
/// </summary>
public sealed class MovedQueuePollsTests
{
    private static readonly QueueKey s_moved = new("ns", "moved", TaskCategory.Workflow);
    private static readonly QueueKey s_kept = new("ns", "kept", TaskCategory.Activity);
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(30);

    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private static WorkflowTaskItem Item(int n) => new(new WorkflowKey("ns", $"wf-{n}", "run"), n, 1);

    [Fact]
    public async Task PollsOnAQueueThatMoved_EndEmpty_OthersWait()
    {
        var matching = new MatchingEngine(_time);
        var moved = new[] { matching.PollAsync(s_moved, "w1", TimeSpan.FromMinutes(1), CancellationToken.None), matching.PollAsync(s_moved, "w2", TimeSpan.FromMinutes(1), CancellationToken.None) };
        var kept = matching.PollAsync(s_kept, "w3", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(2, matching.ReleaseMovedPolls(queue => queue != s_moved));

        Assert.All(await Task.WhenAll(moved).WaitAsync(s_bound), Assert.Null);
        Assert.False(kept.IsCompleted);
        matching.Add(s_kept, Item(1));
        Assert.Equal(Item(1), await kept.WaitAsync(s_bound));
        Assert.Equal(0, matching.BacklogCount(s_moved)); // nothing was taken from the moved queue
    }

    [Fact]
    public async Task APollGivenItsItem_KeepsIt()
    {
        var matching = new MatchingEngine(_time);
        var poll = matching.PollAsync(s_moved, "w1", TimeSpan.FromMinutes(1), CancellationToken.None);
        matching.Add(s_moved, Item(1));

        Assert.Equal(0, matching.ReleaseMovedPolls(_ => false));
        Assert.Equal(Item(1), await poll.WaitAsync(s_bound));
    }
}
