using Temporalio.Api.Schedule.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// A structured calendar compiled to per-field sets, read in a time zone. A time matches when every field
/// matches (day of month AND day of week, unlike classic cron's OR); an empty year list means every year, any
/// other empty field matches nothing. Wall-clock times skipped by a DST change never match; times a DST change
/// repeats match twice.
/// </summary>
internal sealed class CompiledCalendar
{
    private const int MaxYear = 2100;
    private static readonly DateTime s_earliest = new(1, 1, 2, 0, 0, 0, DateTimeKind.Utc);

    private readonly TimeZoneInfo _zone;
    private readonly bool[] _second = new bool[60];
    private readonly bool[] _minute = new bool[60];
    private readonly bool[] _hour = new bool[24];
    private readonly bool[] _dayOfMonth = new bool[32];
    private readonly bool[] _month = new bool[13];
    private readonly bool[] _dayOfWeek = new bool[8];
    private readonly HashSet<int>? _years;
    private readonly int[] _hours;
    private readonly int[] _minutes;
    private readonly int[] _seconds;

    public CompiledCalendar(StructuredCalendarSpec spec, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(spec);
        _zone = zone;
        Fill(spec.Second, _second);
        Fill(spec.Minute, _minute);
        Fill(spec.Hour, _hour);
        Fill(spec.DayOfMonth, _dayOfMonth);
        Fill(spec.Month, _month);
        Fill(spec.DayOfWeek, _dayOfWeek);
        _dayOfWeek[0] |= _dayOfWeek[7];
        if (spec.Year.Count > 0)
        {
            var years = new bool[MaxYear + 1];
            Fill(spec.Year, years);
            _years = [.. Enumerable.Range(0, years.Length).Where(y => years[y])];
        }

        _hours = Indexes(_hour);
        _minutes = Indexes(_minute);
        _seconds = Indexes(_second);
    }

    public bool Matches(DateTime utc)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(utc, _zone);
        return DateMatches(local) && _hour[local.Hour] && _minute[local.Minute] && _second[local.Second];
    }

    /// <summary>The earliest matching instant strictly after <paramref name="afterUtc"/> (second resolution), or null.</summary>
    public DateTime? Next(DateTime afterUtc)
    {
        if (_hours.Length == 0 || _minutes.Length == 0 || _seconds.Length == 0)
        {
            return null;
        }

        // Wall-clock order is instant order except inside an hour a DST change repeats; start an hour early and,
        // where the zone has DST, keep looking two wall-clock hours past the first hit for an earlier instant.
        if (afterUtc.Year > MaxYear)
        {
            return null;
        }

        // From the second day of year 1 at the earliest: the zone's offset and the hour back must stay inside DateTime.
        var from = TimeZoneInfo.ConvertTimeFromUtc(afterUtc < s_earliest ? s_earliest : afterUtc, _zone).AddHours(-1);
        from = new DateTime(from.Year, from.Month, from.Day, from.Hour, from.Minute, from.Second, DateTimeKind.Unspecified);
        DateTime? best = null;
        DateTime? stopAfterWall = null;
        for (var day = from.Date; day.Year <= MaxYear; day = day.AddDays(1))
        {
            if (stopAfterWall is { } stop && day > stop)
            {
                break;
            }

            if (_years is { } years && !years.Contains(day.Year))
            {
                if (years.All(y => y < day.Year))
                {
                    break;
                }

                day = new DateTime(day.Year + 1, 1, 1).AddDays(-1);
                continue;
            }

            if (!DateMatches(day))
            {
                continue;
            }

            foreach (var h in _hours)
            {
                foreach (var m in _minutes)
                {
                    foreach (var s in _seconds)
                    {
                        var wall = day.AddSeconds((h * 3600) + (m * 60) + s);
                        if (wall < from)
                        {
                            continue;
                        }

                        if (stopAfterWall is { } limit && wall > limit)
                        {
                            return best;
                        }

                        foreach (var utc in Instants(wall))
                        {
                            if (utc > afterUtc && (best is null || utc < best))
                            {
                                best = utc;
                                stopAfterWall ??= _zone.SupportsDaylightSavingTime ? wall.AddHours(2) : wall;
                            }
                        }
                    }
                }
            }
        }

        return best;
    }

    /// <summary>The instants a wall-clock time names in the zone: none in a DST gap, two in a repeated hour.</summary>
    private IEnumerable<DateTime> Instants(DateTime wall)
    {
        if (_zone.IsInvalidTime(wall))
        {
            yield break;
        }

        if (_zone.IsAmbiguousTime(wall))
        {
            foreach (var offset in _zone.GetAmbiguousTimeOffsets(wall).OrderByDescending(o => o))
            {
                yield return DateTime.SpecifyKind(wall - offset, DateTimeKind.Utc);
            }

            yield break;
        }

        yield return DateTime.SpecifyKind(wall - _zone.GetUtcOffset(wall), DateTimeKind.Utc);
    }

    private bool DateMatches(DateTime local) =>
        (_years is null || _years.Contains(local.Year)) && _month[local.Month] && _dayOfMonth[local.Day] && _dayOfWeek[(int)local.DayOfWeek];

    private static void Fill(IEnumerable<Temporalio.Api.Schedule.V1.Range> ranges, bool[] set)
    {
        foreach (var range in ranges)
        {
            var step = range.Step <= 0 ? 1 : range.Step;
            var end = range.End < range.Start ? range.Start : range.End;
            for (var v = range.Start; v <= end && v < set.Length; v += step)
            {
                if (v >= 0)
                {
                    set[v] = true;
                }
            }
        }
    }

    private static int[] Indexes(bool[] set) => [.. Enumerable.Range(0, set.Length).Where(i => set[i])];
}
