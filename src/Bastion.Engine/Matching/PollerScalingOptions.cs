namespace Bastion.Engine.Matching;

/// <summary>
/// When a poll that gets a task also gets a suggestion to change the worker's number of polls
/// (<c>PollerScalingDecision</c>): Temporal's <c>matching.pollerScaling*</c> keys, with their defaults. A worker whose
/// pollers autoscale (the SDKs' <c>PollerBehavior.Autoscaling</c>) follows it; others ignore it. See
/// <see cref="PollerScaler"/> for the rule.
/// </summary>
public sealed class PollerScalingOptions
{
    /// <summary>A backlog this old asks for one more poll (<c>matching.pollerScalingMinimumBacklog</c>).</summary>
    public TimeSpan MinimumBacklogAge { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A poll that waited this long for its task asks for one poll fewer (<c>matching.pollerScalingWaitTime</c>).</summary>
    public TimeSpan WaitTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Decisions a partition issues per second per poller it has seen (<c>matching.pollerScalingDecisionsPerSecond</c>).</summary>
    public double DecisionsPerSecond { get; set; } = 10;

    /// <summary>
    /// A root partition whose tasks arrive this many times faster than they are dispatched asks for one more poll, backlog
    /// or not (<c>matching.pollerScalingTaskAddToDispatchRatio</c>).
    /// </summary>
    public double AddToDispatchRatio { get; set; } = 1.2;
}
