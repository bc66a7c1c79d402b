using Bastion.Engine.Errors;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Schedule.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// Checks a schedule spec and compiles it. The canonical form, which is what is stored and described, has every
/// calendar, exclusion and cron string turned into structured calendars and <c>@every</c> cron strings into
/// intervals (as Temporal does); a cron string's zone prefix becomes the spec's time zone. Every problem is
/// INVALID_ARGUMENT naming the field.
/// </summary>
internal static class ScheduleSpecCompiler
{
    private const int MaxCommentLength = 200;

    public static CompiledScheduleSpec Compile(ScheduleSpec? spec)
    {
        var canonical = spec?.Clone() ?? new ScheduleSpec();
        for (var i = 0; i < canonical.Calendar.Count; i++)
        {
            canonical.StructuredCalendar.Add(Structured(canonical.Calendar[i], $"calendar[{i}]"));
        }

        canonical.Calendar.Clear();
#pragma warning disable CS0612 // Deprecated for exclude_structured_calendar, but still accepted by Temporal.
        for (var i = 0; i < canonical.ExcludeCalendar.Count; i++)
        {
            canonical.ExcludeStructuredCalendar.Add(Structured(canonical.ExcludeCalendar[i], $"exclude_calendar[{i}]"));
        }

        canonical.ExcludeCalendar.Clear();
#pragma warning restore CS0612
        string? cronZone = null;
        for (var i = 0; i < canonical.CronString.Count; i++)
        {
            CronStringParser.Result parsed;
            try
            {
                parsed = CronStringParser.Parse(canonical.CronString[i]);
            }
            catch (FormatException e)
            {
                throw Invalid($"cron_string[{i}] {ServiceException.Quote(canonical.CronString[i])}: {e.Message}");
            }

            if (cronZone is not null && cronZone != parsed.Zone)
            {
                throw Invalid($"cron_string[{i}]: all cron strings must name the same time zone");
            }

            cronZone = parsed.Zone;
            if (parsed.Calendar is { } calendar)
            {
                canonical.StructuredCalendar.Add(calendar);
            }

            if (parsed.Interval is { } interval)
            {
                canonical.Interval.Add(interval);
            }
        }

        canonical.CronString.Clear();
        if (!string.IsNullOrEmpty(cronZone))
        {
            if (!string.IsNullOrEmpty(canonical.TimezoneName) && canonical.TimezoneName != cronZone)
            {
                throw Invalid($"the cron strings' time zone {ServiceException.Quote(cronZone)} conflicts with timezone_name {ServiceException.Quote(canonical.TimezoneName)}");
            }

            canonical.TimezoneName = cronZone;
        }

        for (var i = 0; i < canonical.StructuredCalendar.Count; i++)
        {
            Validate(canonical.StructuredCalendar[i], $"structured_calendar[{i}]");
        }

        for (var i = 0; i < canonical.ExcludeStructuredCalendar.Count; i++)
        {
            Validate(canonical.ExcludeStructuredCalendar[i], $"exclude_structured_calendar[{i}]");
        }

        for (var i = 0; i < canonical.Interval.Count; i++)
        {
            var interval = canonical.Interval[i].Interval?.ToTimeSpan() ?? TimeSpan.Zero;
            var phase = canonical.Interval[i].Phase?.ToTimeSpan() ?? TimeSpan.Zero;
            if (interval < TimeSpan.FromSeconds(1))
            {
                throw Invalid($"interval[{i}]: the interval must be at least 1s (was {interval})");
            }

            if (phase < TimeSpan.Zero || phase >= interval)
            {
                throw Invalid($"interval[{i}]: the phase must be at least 0 and less than the interval (was {phase})");
            }
        }

        if (canonical.Jitter?.ToTimeSpan() < TimeSpan.Zero)
        {
            throw Invalid("jitter must not be negative");
        }

        if (canonical.StartTime is { } start && canonical.EndTime is { } end && end.ToDateTime() < start.ToDateTime())
        {
            throw Invalid("end_time is before start_time");
        }

        return new CompiledScheduleSpec(canonical, Zone(canonical.TimezoneName));
    }

    /// <summary>
    /// The spec as Temporal describes and lists it: the canonical form with every range written out in full (an
    /// <c>End</c> before the start reads as the start, a <c>Step</c> of 0 as 1). A copy; the stored spec is unchanged.
    /// </summary>
    public static ScheduleSpec WrittenOut(ScheduleSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var copy = spec.Clone();
        foreach (var calendar in copy.StructuredCalendar.Concat(copy.ExcludeStructuredCalendar))
        {
            foreach (var r in new[] { calendar.Second, calendar.Minute, calendar.Hour, calendar.DayOfMonth, calendar.Month, calendar.Year, calendar.DayOfWeek }.SelectMany(f => f))
            {
                r.End = Math.Max(r.End, r.Start);
                r.Step = r.Step == 0 ? 1 : r.Step;
            }
        }

        return copy;
    }

    /// <summary>A string-form calendar as structured ranges (empty fields take Temporal's defaults).</summary>
    public static StructuredCalendarSpec ToStructured(CalendarSpec calendar) => new()
    {
        Second = { CalendarField.Second.Parse(calendar.Second) },
        Minute = { CalendarField.Minute.Parse(calendar.Minute) },
        Hour = { CalendarField.Hour.Parse(calendar.Hour) },
        DayOfMonth = { CalendarField.DayOfMonth.Parse(calendar.DayOfMonth) },
        Month = { CalendarField.Month.Parse(calendar.Month) },
        Year = { CalendarField.Year.Parse(calendar.Year) },
        DayOfWeek = { CalendarField.DayOfWeek.Parse(calendar.DayOfWeek) },
        Comment = calendar.Comment,
    };

    private static StructuredCalendarSpec Structured(CalendarSpec calendar, string field)
    {
        try
        {
            return ToStructured(calendar);
        }
        catch (FormatException e)
        {
            throw Invalid($"{field}: {e.Message}");
        }
    }

    private static void Validate(StructuredCalendarSpec calendar, string field)
    {
        Check(calendar.Second, CalendarField.Second);
        Check(calendar.Minute, CalendarField.Minute);
        Check(calendar.Hour, CalendarField.Hour);
        Check(calendar.DayOfMonth, CalendarField.DayOfMonth);
        Check(calendar.Month, CalendarField.Month);
        Check(calendar.Year, CalendarField.Year);
        Check(calendar.DayOfWeek, CalendarField.DayOfWeek);
        if (calendar.Comment.Length > MaxCommentLength)
        {
            throw Invalid($"{field}: the comment is longer than {MaxCommentLength} characters");
        }

        void Check(IEnumerable<Temporalio.Api.Schedule.V1.Range> ranges, CalendarField f)
        {
            foreach (var r in ranges)
            {
                if (r.Start < f.Min || r.Start > f.Max)
                {
                    throw Invalid($"{field}.{f.Name}: start {r.Start} is not in range [{f.Min}-{f.Max}]");
                }

                if (r.End != 0 && (r.End < r.Start || r.End > f.Max))
                {
                    throw Invalid($"{field}.{f.Name}: end {r.End} is before the start or not in range [{f.Min}-{f.Max}]");
                }

                if (r.Step < 0)
                {
                    throw Invalid($"{field}.{f.Name}: step {r.Step} is negative");
                }
            }
        }
    }

    /// <summary>An IANA zone (empty: UTC).</summary>
    public static TimeZoneInfo Zone(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw Invalid($"unknown timezone_name {ServiceException.Quote(name)}");
        }
    }

    private static ServiceException Invalid(string message) => ServiceException.InvalidArgument($"Invalid schedule spec: {message}.");

    internal static Duration? OrNull(TimeSpan? value) => value is { } v ? Duration.FromTimeSpan(v) : null;
}
