namespace Bastion.Security.RateLimits;

/// <summary>
/// A namespace's actions per second over the last hour (what Cloud's capacity info summarises as mean, p90 and p99):
/// one counter per second in a ring, read only for the seconds since the namespace was first charged.
/// </summary>
public sealed class ActionRate(TimeProvider time)
{
    private const int Seconds = 3600;
    private readonly Lock _gate = new();
    private readonly int[] _counts = new int[Seconds];
    private readonly long _first = Second(time);
    private long _last = Second(time);

    public void Add(int actions)
    {
        if (actions == 0)
        {
            return;
        }

        lock (_gate)
        {
            var now = Advance();
            _counts[now % Seconds] += actions;
        }
    }

    /// <summary>Mean, 90th and 99th percentile of the whole seconds of the window (the current second excluded).</summary>
    public (double Mean, double P90, double P99) Summary()
    {
        int[] window;
        lock (_gate)
        {
            var now = Advance();
            var span = (int)Math.Min(Seconds - 1, now - _first);
            window = new int[span];
            for (var i = 0; i < span; i++)
            {
                window[i] = _counts[(now - 1 - i) % Seconds];
            }
        }

        if (window.Length == 0)
        {
            return (0, 0, 0);
        }

        Array.Sort(window);
        return (window.Average(), Rank(window, 0.90), Rank(window, 0.99));
    }

    private static double Rank(int[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>Clears the seconds passed since the last use; returns the current second.</summary>
    private long Advance()
    {
        var now = Second(time);
        for (var s = Math.Max(_last + 1, now - Seconds + 1); s <= now; s++)
        {
            _counts[s % Seconds] = 0;
        }

        _last = Math.Max(_last, now);
        return now;
    }

    private static long Second(TimeProvider time) => time.GetUtcNow().ToUnixTimeSeconds();
}
