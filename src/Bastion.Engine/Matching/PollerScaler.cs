namespace Bastion.Engine.Matching;

/// <summary>
/// One partition's poller scaling decisions, Temporal's rule (<see cref="PollerScalingOptions"/>): a poll that waited
/// long for its task suggests one poll fewer; otherwise, within a budget of decisions per second per poller, a backlog
/// older than the minimum suggests one more, and so does a root partition whose tasks arrive faster than they leave;
/// else no decision. Not thread-safe: the partition's lock guards it.
/// </summary>
internal sealed class PollerScaler
{
    private readonly TaskRate _added = new();
    private readonly TaskRate _dispatched = new();
    private double _budget = double.NaN; // decisions left, in "one per poller" units (NaN: not started)
    private DateTime _budgetAt;

    public void Added(DateTime now) => _added.Count(now);

    public void Dispatched(DateTime now) => _dispatched.Count(now);

    /// <summary>Tasks added and dispatched per second over the last seconds (DescribeTaskQueue's stats too).</summary>
    public (double Added, double Dispatched) Rates(DateTime now) => (_added.PerSecond(now), _dispatched.PerSecond(now));

    /// <summary>
    /// +1, -1 or null (no suggestion) for a poll that began at <paramref name="pollStarted"/> and got its task now;
    /// <paramref name="backlogSince"/> is when the oldest item still waiting arrived (null: none waits).
    /// </summary>
    public int? Decide(PollerScalingOptions options, DateTime pollStarted, DateTime now, DateTime? backlogSince, int pollers, bool isRoot)
    {
        if (now - pollStarted >= options.WaitTime)
        {
            return -1; // a poller sat idle: there are more than the queue needs
        }

        if (!TakeBudget(options, now, Math.Max(1, pollers)))
        {
            return null;
        }

        if (backlogSince is { } since && now - since > options.MinimumBacklogAge)
        {
            return 1;
        }

        if (!isRoot)
        {
            return null; // another partition sees only its own share of the queue's traffic
        }

        var added = _added.PerSecond(now);
        var dispatched = _dispatched.PerSecond(now);
        return added > 0 && (dispatched == 0 || added / dispatched > options.AddToDispatchRatio) ? 1 : null;
    }

    /// <summary>
    /// A token bucket refilled at <see cref="PollerScalingOptions.DecisionsPerSecond"/> (one second's worth at most); a
    /// decision costs one over the number of pollers, so a partition with more pollers may decide more often.
    /// </summary>
    private bool TakeBudget(PollerScalingOptions options, DateTime now, int pollers)
    {
        var capacity = options.DecisionsPerSecond;
        _budget = double.IsNaN(_budget) ? capacity : Math.Min(capacity, _budget + (Math.Max(0, (now - _budgetAt).TotalSeconds) * capacity));
        _budgetAt = now;
        var cost = 1.0 / pollers;
        if (_budget < cost)
        {
            return false;
        }

        _budget -= cost;
        return true;
    }
}
