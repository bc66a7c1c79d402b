namespace Bastion.Server.Cluster;

/// <summary>
/// How long a routed call waits, trying again, while what it addresses is between owners (<see cref="ClusterRouter"/>):
/// from the first failure of a move, up to <see cref="Limit"/> and within the call's deadline, with pauses doubling from
/// 100 ms to 1 s. An attempt that ran for <see cref="Served"/> or more before it failed had reached a serving owner (a
/// long poll waiting there) and what it addresses has moved again since — the node that died came back and took it
/// back: a move of its own, waited for from its own start. It must be: the SDKs do not retry a long poll that fails
/// after waiting longer than their retry budget (10 s), so a call cut off twice must not give up on the second move
/// with the time the first one used. A call waits out <see cref="MaxMoves"/> moves at most: an owner that answers each
/// attempt only after seconds, and then UNAVAILABLE, must not hold a call without a deadline forever.
/// </summary>
internal sealed class MoveWait
{
    /// <summary>A dead node's lease (10 s), a heartbeat, an acquire.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>Longer than a failure that did not reach a serving owner takes (a refused connection, "not served here").</summary>
    public static readonly TimeSpan Served = TimeSpan.FromSeconds(2);

    /// <summary>A kill and the dead node's return are two; a third is one to spare.</summary>
    public const int MaxMoves = 3;

    private static readonly TimeSpan s_first = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_max = TimeSpan.FromSeconds(1);

    private DateTime? _giveUp;
    private TimeSpan _pause = s_first;
    private int _moves;

    /// <summary>
    /// After an attempt that began at <paramref name="attemptStarted"/> failed as UNAVAILABLE at <paramref name="now"/>:
    /// the pause before the next attempt, or null when the call gives up (the move outlasted its wait or the deadline, or
    /// this is one move too many).
    /// </summary>
    public TimeSpan? Next(DateTime attemptStarted, DateTime now, DateTime deadline)
    {
        if (_giveUp is null || now - attemptStarted >= Served)
        {
            if (++_moves > MaxMoves)
            {
                return null;
            }

            _giveUp = now + Limit;
            _pause = s_first;
        }

        var pause = _pause;
        if (now + pause >= (deadline < _giveUp.Value ? deadline : _giveUp.Value))
        {
            return null;
        }

        _pause = _pause * 2 > s_max ? s_max : _pause * 2;
        return pause;
    }
}
