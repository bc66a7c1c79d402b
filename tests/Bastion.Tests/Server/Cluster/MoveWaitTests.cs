using Bastion.Server.Cluster;

namespace Bastion.Tests.Server.Cluster;

/// <summary>
/// A routed call waits out a move of what it addresses — up to the limit from the move's first failure, within its
/// deadline — and a second move after it had reached a serving owner gets a wait of its own, up to a few moves.
/// </summary>
public sealed class MoveWaitTests
{
    private static readonly DateTime s_t0 = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime s_noDeadline = DateTime.MaxValue;

    [Fact]
    public void QuickFailures_AreTriedAgainWithDoublingPauses_UntilTheLimitFromTheFirst()
    {
        var moves = new MoveWait();
        var now = s_t0;
        var pauses = new List<TimeSpan>();
        while (moves.Next(now, now, s_noDeadline) is { } pause)
        {
            pauses.Add(pause);
            now += pause; // each attempt fails at once
        }

        Assert.Equal([100, 200, 400, 800, 1000, 1000], pauses.Take(6).Select(p => (int)p.TotalMilliseconds));
        Assert.InRange(now - s_t0, MoveWait.Limit - TimeSpan.FromSeconds(1), MoveWait.Limit);
    }

    [Fact]
    public void AnAttemptServedForAWhile_ThenCutOff_WaitsOutTheNewMoveFromItsOwnStart()
    {
        var moves = new MoveWait();
        Assert.NotNull(moves.Next(s_t0, s_t0, s_noDeadline)); // the owner died

        // Tried again 12 s later, the call reached the new owner and waited there as a long poll, until the shard moved
        // back 19 s after the first failure: without a wait of its own it would have 1 s left.
        var reached = s_t0.AddSeconds(12);
        var cutOff = s_t0.AddSeconds(19);
        Assert.Equal(TimeSpan.FromMilliseconds(100), moves.Next(reached, cutOff, s_noDeadline));
        Assert.NotNull(moves.Next(cutOff.AddSeconds(15), cutOff.AddSeconds(15), s_noDeadline)); // quick failures 15 s into the second move: still waiting
        Assert.Null(moves.Next(cutOff.AddSeconds(20), cutOff.AddSeconds(20), s_noDeadline));
    }

    [Fact]
    public void ACallWaitsOutAFewMoves_NotEndlessly()
    {
        var moves = new MoveWait();
        var now = s_t0;
        for (var move = 1; move <= MoveWait.MaxMoves; move++)
        {
            Assert.NotNull(moves.Next(now, now + MoveWait.Served, s_noDeadline)); // each attempt served a while, then cut off
            now += MoveWait.Served + TimeSpan.FromSeconds(1);
        }

        Assert.Null(moves.Next(now, now + MoveWait.Served, s_noDeadline));
    }

    [Fact]
    public void TheCallsDeadline_EndsTheWait()
    {
        var moves = new MoveWait();
        var deadline = s_t0.AddSeconds(3);
        Assert.NotNull(moves.Next(s_t0, s_t0, deadline));
        Assert.Null(moves.Next(s_t0.AddSeconds(2.95), s_t0.AddSeconds(2.95), deadline));
    }
}
