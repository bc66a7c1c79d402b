namespace Bastion.Engine.Matching;

/// <summary>
/// The fairness-key rate limit of one partition (UpdateTaskQueueConfig's <c>fairness_key_rate_limit_default</c>): each
/// key may dispatch its weight times the default rate, with a burst of one second of tasks (at least one), as Temporal's per-key
/// limiter. A key's state is the time from which it may dispatch again; each dispatch moves it on by one interval. A
/// key whose time lies a burst in the past is forgotten (it is as a key never seen), so memory follows active keys.
/// </summary>
internal sealed class FairnessKeyLimiter
{
    private const int PruneAbove = 1024;

    private readonly Dictionary<string, DateTimeOffset> _readyAt = new(StringComparer.Ordinal);

    /// <summary>How long until <paramref name="key"/> may dispatch at <paramref name="rate"/> tasks a second; zero: now; null: never (a rate of zero).</summary>
    public TimeSpan? Wait(string key, double rate, DateTimeOffset now)
    {
        if (rate <= 0)
        {
            return null;
        }

        return _readyAt.TryGetValue(key, out var ready) && ready > now ? ready - now : TimeSpan.Zero;
    }

    /// <summary>Counts one dispatch of <paramref name="key"/>.</summary>
    public void Take(string key, double rate, DateTimeOffset now)
    {
        if (rate <= 0)
        {
            return;
        }

        // A key idle for a burst's length may take a whole burst again: its time never lags further behind.
        var interval = TimeSpan.FromSeconds(1 / rate);
        var floor = now - (interval * (Math.Max(1, Math.Ceiling(rate)) - 1));
        var from = _readyAt.TryGetValue(key, out var ready) && ready > floor ? ready : floor;
        _readyAt[key] = from + interval;
        if (_readyAt.Count > PruneAbove)
        {
            var idleSince = now - TimeSpan.FromSeconds(1); // at or before any key's floor: such a key is as one never seen
            foreach (var idle in _readyAt.Where(k => k.Value <= idleSince).Select(k => k.Key).ToList())
            {
                _readyAt.Remove(idle);
            }
        }
    }

    /// <summary>The limit changed: every key starts afresh.</summary>
    public void Reset() => _readyAt.Clear();
}
