using Bastion.Storage;

namespace Bastion.Engine.Matching;

/// <summary>
/// A poll waiting on a partition for an item. It ends one way only: given an item by matching, claimed by a transition
/// that starts its task in the same commit (<see cref="PollerClaim"/>), or given up (its wait ran out or its caller left).
/// A claimed poll waits for the claim's outcome even when its own time runs out meanwhile, so a task started for it is
/// not lost to a timer that fired during the commit.
/// </summary>
internal sealed class WaitingPoller(string identity, PendingAudit? audit)
{
    private const int Waiting = 0;
    private const int Given = 1;
    private const int Claimed = 2;
    private const int GaveUp = 3;

    private int _state;

    /// <summary>The item the poll gets; null when a claim was released (the poll then ends empty).</summary>
    public TaskCompletionSource<MatchItem?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The poller's identity (a task started for it names it in its started event).</summary>
    public string Identity => identity;

    /// <summary>The poll call's audit record, which rides the commit of a claim.</summary>
    public PendingAudit? Audit => audit;

    /// <summary>Hands the poll an item; false when it already ended another way.</summary>
    public bool TryGive(MatchItem item) => Interlocked.CompareExchange(ref _state, Given, Waiting) == Waiting && Result.TrySetResult(item);

    /// <summary>Claims the poll for a transition; false when it already ended another way.</summary>
    public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Waiting) == Waiting;

    /// <summary>The poll gives up waiting; false when it was given an item or claimed first (it then waits for that).</summary>
    public bool TryGiveUp() => Interlocked.CompareExchange(ref _state, GaveUp, Waiting) == Waiting && Result.TrySetResult(null);
}
