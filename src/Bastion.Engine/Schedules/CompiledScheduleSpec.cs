using Temporalio.Api.Schedule.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// A checked spec: the next nominal time after an instant (the earliest of its calendars and intervals, not
/// excluded, within start and end time) and that time with its jitter. Jitter is deterministic (a hash of the
/// nominal time and a seed) and never reaches the following nominal time, as in Temporal.
/// </summary>
internal sealed class CompiledScheduleSpec
{
    /// <summary>9999-12-31T23:59:59Z in Unix seconds: no time after it exists.</summary>
    private static readonly long s_lastSecond = (long)(DateTime.MaxValue - DateTime.UnixEpoch).TotalSeconds;

    private readonly CompiledCalendar[] _calendars;
    private readonly CompiledCalendar[] _excludes;
    private readonly (long Interval, long Phase)[] _intervals;
    private readonly DateTime? _start;
    private readonly DateTime? _end;
    private readonly TimeSpan _jitter;

    public CompiledScheduleSpec(ScheduleSpec canonical, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(canonical);
        Canonical = canonical;
        _calendars = [.. canonical.StructuredCalendar.Select(c => new CompiledCalendar(c, zone))];
        _excludes = [.. canonical.ExcludeStructuredCalendar.Select(c => new CompiledCalendar(c, zone))];
        _intervals = [.. canonical.Interval.Select(i => ((long)i.Interval.ToTimeSpan().TotalSeconds, (long)(i.Phase?.ToTimeSpan().TotalSeconds ?? 0)))];
        _start = canonical.StartTime?.ToDateTime();
        _end = canonical.EndTime?.ToDateTime();
        _jitter = canonical.Jitter?.ToTimeSpan() ?? TimeSpan.Zero;
    }

    public ScheduleSpec Canonical { get; }

    /// <summary>The next action time strictly after <paramref name="after"/>: nominal and with jitter; null when there is none.</summary>
    public (DateTime Nominal, DateTime Next)? GetNextTime(string jitterSeed, DateTime after)
    {
        if (_start is { } start && after < start)
        {
            after = start.Ticks >= TimeSpan.TicksPerSecond ? start.AddSeconds(-1) : start;
        }

        DateTime? nominal;
        do
        {
            nominal = RawNext(after);
            if (nominal is not { } n || (_end is { } end && n > end))
            {
                return null;
            }

            after = n;
        }
        while (_excludes.Any(x => x.Matches(nominal.Value)));

        var maxJitter = _jitter;
        if (RawNext(nominal.Value) is { } following && following - nominal.Value < maxJitter)
        {
            maxJitter = following - nominal.Value;
        }

        if (DateTime.MaxValue - nominal.Value < maxJitter)
        {
            maxJitter = DateTime.MaxValue - nominal.Value;
        }

        return (nominal.Value, nominal.Value + Jitter(jitterSeed, nominal.Value, maxJitter));
    }

    /// <summary>Nominal times in [<paramref name="from"/>, <paramref name="to"/>], at most <paramref name="max"/>.</summary>
    public List<DateTime> NominalTimes(DateTime from, DateTime to, int max)
    {
        var times = new List<DateTime>();
        var after = JustBefore(from);
        while (times.Count < max && GetNextTime(string.Empty, after) is { } next && next.Nominal <= to)
        {
            times.Add(next.Nominal);
            after = next.Nominal;
        }

        return times;
    }

    /// <summary>The instant before <paramref name="time"/>, to search from it inclusively (0001-01-01 has none).</summary>
    public static DateTime JustBefore(DateTime time) => time.Ticks > 0 ? time.AddTicks(-1) : time;

    private DateTime? RawNext(DateTime after)
    {
        // Second resolution: an instant inside a second is that second.
        after = new DateTime(after.Ticks - (after.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        DateTime? best = null;
        foreach (var calendar in _calendars)
        {
            if (calendar.Next(after) is { } next && (best is null || next < best))
            {
                best = next;
            }
        }

        var seconds = (long)(after - DateTime.UnixEpoch).TotalSeconds;
        foreach (var (interval, phase) in _intervals)
        {
            var nextSeconds = (FloorDiv(seconds - phase, interval) + 1) * interval + phase;
            if (nextSeconds > s_lastSecond)
            {
                continue; // after 9999-12-31
            }

            var next = DateTime.UnixEpoch.AddSeconds(nextSeconds);
            if (best is null || next < best)
            {
                best = next;
            }
        }

        return best;
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : ((a + 1) / b) - 1;

    private static TimeSpan Jitter(string seed, DateTime nominal, TimeSpan max)
    {
        if (max <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        // FNV-1a over the nominal time and the seed: stable across processes, so a restart keeps the same jitter.
        var hash = 2166136261u;
        foreach (var c in $"{nominal.Ticks}/{seed}")
        {
            hash = (hash ^ c) * 16777619u;
        }

        var ms = (ulong)Math.Min((long)max.TotalMilliseconds, uint.MaxValue);
        return TimeSpan.FromMilliseconds((long)(((ulong)hash * ms) >> 32));
    }
}
