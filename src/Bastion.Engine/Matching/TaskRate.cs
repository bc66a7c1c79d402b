namespace Bastion.Engine.Matching;

/// <summary>
/// Events per second over the last <see cref="Buckets"/> seconds, counted in one-second buckets (not thread-safe: the
/// partition's lock guards it). A partition counts the tasks added to it and those dispatched from it with two of these.
/// </summary>
internal sealed class TaskRate
{
    private const int Buckets = 10;

    private readonly long[] _counts = new long[Buckets];
    private long _second = long.MinValue; // the whole second of the newest bucket

    public void Count(DateTime now)
    {
        Advance(now);
        _counts[Index(_second)]++;
    }

    public double PerSecond(DateTime now)
    {
        Advance(now);
        return _counts.Sum() / (double)Buckets;
    }

    private void Advance(DateTime now)
    {
        var second = now.Ticks / TimeSpan.TicksPerSecond;
        if (second <= _second)
        {
            return;
        }

        // Buckets of the seconds that passed since the newest are emptied (all of them after a quiet spell).
        for (var s = Math.Max(_second + 1, second - Buckets + 1); s <= second; s++)
        {
            _counts[Index(s)] = 0;
        }

        _second = second;
    }

    private static int Index(long second) => (int)(((second % Buckets) + Buckets) % Buckets);
}
