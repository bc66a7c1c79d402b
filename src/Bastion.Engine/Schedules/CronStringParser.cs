using Bastion.Engine.History;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Schedule.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// Temporal's cron dialect for schedules: an optional <c>CRON_TZ=</c>/<c>TZ=</c> zone prefix; <c>@every
/// &lt;duration&gt;[/&lt;phase&gt;]</c> (an interval); <c>@yearly</c>, <c>@annually</c>, <c>@monthly</c>,
/// <c>@weekly</c>, <c>@daily</c>, <c>@midnight</c>, <c>@hourly</c>; or 5 fields (minute hour day-of-month month
/// day-of-week), 6 (… year) or 7 (second … year), read as a calendar (every field must match); text after a
/// <c>#</c> is the calendar's comment.
/// </summary>
internal static class CronStringParser
{
    public sealed record Result(StructuredCalendarSpec? Calendar, IntervalSpec? Interval, string Zone);

    /// <summary>The parsed string; a problem is a <see cref="FormatException"/> saying what is wrong.</summary>
    public static Result Parse(string text)
    {
        var c = text.Trim();
        var zone = string.Empty;
        if (c.StartsWith("TZ=", StringComparison.Ordinal) || c.StartsWith("CRON_TZ=", StringComparison.Ordinal))
        {
            var space = c.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0)
            {
                throw new FormatException("a time zone prefix must be followed by a schedule");
            }

            zone = c[(c.IndexOf('=', StringComparison.Ordinal) + 1)..space];
            c = c[(space + 1)..].Trim();
        }

        var comment = string.Empty;
        var hash = c.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            comment = c[(hash + 1)..].Trim();
            c = c[..hash].Trim();
        }

        if (c.StartsWith("@every", StringComparison.Ordinal))
        {
            return new Result(null, Every(c), zone);
        }

        c = c switch
        {
            "@yearly" or "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" or "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => c,
        };
        var f = c.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var (second, year, rest) = f.Length switch
        {
            5 => ((string?)null, (string?)null, f),
            6 => (null, f[5], f[..5]),
            7 => (f[0], f[6], f[1..6]),
            _ => throw new FormatException($"expected 5, 6 or 7 fields, or a predefined schedule such as @hourly, but found {f.Length} fields"),
        };
        return new Result(
            ScheduleSpecCompiler.ToStructured(new CalendarSpec
            {
                Second = second ?? string.Empty,
                Minute = rest[0],
                Hour = rest[1],
                DayOfMonth = rest[2],
                Month = rest[3],
                DayOfWeek = rest[4],
                Year = year ?? string.Empty,
                Comment = comment,
            }),
            null,
            zone);
    }

    private static IntervalSpec Every(string c)
    {
        var space = c.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            throw new FormatException("@every needs a duration, such as @every 5m or @every 1h/15m");
        }

        var parts = c[(space + 1)..].Trim().Split('/');
        var interval = CronSchedule.ParseGoDuration(parts[0]) ?? throw new FormatException($"{Errors.ServiceException.Quote(parts[0])} is not a duration");
        var spec = new IntervalSpec { Interval = Duration.FromTimeSpan(interval) };
        if (parts.Length > 1)
        {
            spec.Phase = Duration.FromTimeSpan(CronSchedule.ParseGoDuration(parts[1]) ?? throw new FormatException($"{Errors.ServiceException.Quote(parts[1])} is not a duration"));
        }

        return spec;
    }
}
