using Bastion.Storage;

namespace Bastion.Engine.Matching;

/// <summary>
/// A waiting poll a transition took for the workflow task it schedules: the transition starts the task for the poller
/// and commits both at once (one commit instead of two), then <see cref="Deliver"/>s the started task; a transition that
/// fails <see cref="Release"/>s the poll, which then ends empty (its worker polls again).
/// </summary>
internal sealed class PollerClaim(WaitingPoller poller, QueueKey queue)
{
    public string Identity => poller.Identity;

    public PendingAudit? Audit => poller.Audit;

    /// <summary>The partition the poll waited on.</summary>
    public QueueKey Queue => queue;

    public void Deliver(MatchItem started) => poller.Result.TrySetResult(started);

    public void Release() => poller.Result.TrySetResult(null);
}
