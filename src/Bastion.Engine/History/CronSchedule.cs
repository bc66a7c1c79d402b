using System.Globalization;
using Bastion.Engine.Errors;
using Cronos;

namespace Bastion.Engine.History;

/// <summary>
/// A workflow's cron schedule as Temporal accepts it: five-field cron (Cronos), the @hourly-style macros,
/// Temporal's <c>@every &lt;duration&gt;</c> (aligned to the Unix epoch) and a <c>CRON_TZ=&lt;zone&gt;</c> prefix.
/// </summary>
internal sealed class CronSchedule
{
    private readonly CronExpression? _expression;
    private readonly TimeZoneInfo _zone = TimeZoneInfo.Utc;
    private readonly TimeSpan _every;

    private CronSchedule(CronExpression? expression, TimeZoneInfo zone, TimeSpan every)
    {
        _expression = expression;
        _zone = zone;
        _every = every;
    }

    /// <summary>Parses a schedule; INVALID_ARGUMENT naming the problem when it does not parse.</summary>
    public static CronSchedule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spec = text.Trim();
        var zone = TimeZoneInfo.Utc;
        if (spec.StartsWith("CRON_TZ=", StringComparison.Ordinal) || spec.StartsWith("TZ=", StringComparison.Ordinal))
        {
            var space = spec.IndexOf(' ', StringComparison.Ordinal);
            var zoneName = spec[(spec.IndexOf('=', StringComparison.Ordinal) + 1)..(space < 0 ? spec.Length : space)];
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(zoneName);
            }
            catch (TimeZoneNotFoundException)
            {
                throw ServiceException.InvalidArgument($"Invalid CronSchedule {ServiceException.Quote(text)}: unknown time zone {ServiceException.Quote(zoneName)}.");
            }

            spec = space < 0 ? string.Empty : spec[(space + 1)..].Trim();
        }

        if (spec.StartsWith("@every ", StringComparison.Ordinal))
        {
            var every = ParseGoDuration(spec["@every ".Length..].Trim());
            return every is { } interval && interval >= TimeSpan.FromSeconds(1)
                ? new CronSchedule(null, zone, interval)
                : throw ServiceException.InvalidArgument($"Invalid CronSchedule {ServiceException.Quote(text)}: @every needs a duration of at least 1s, such as 30s, 5m or 1h30m.");
        }

        try
        {
            return new CronSchedule(CronExpression.Parse(spec, CronFormat.Standard), zone, TimeSpan.Zero);
        }
        catch (CronFormatException e)
        {
            throw ServiceException.InvalidArgument($"Invalid CronSchedule {ServiceException.Quote(text)}: {e.Message}");
        }
    }

    /// <summary>How long after <paramref name="now"/> the next run starts (zero never: a run is due strictly later).</summary>
    public TimeSpan DelayAfter(DateTime now)
    {
        if (_expression is null)
        {
            var ticks = _every.Ticks;
            var next = ((now.Ticks - DateTime.UnixEpoch.Ticks) / ticks + 1) * ticks + DateTime.UnixEpoch.Ticks;
            return new DateTime(next, DateTimeKind.Utc) - now;
        }

        var occurrence = _expression.GetNextOccurrence(DateTime.SpecifyKind(now, DateTimeKind.Utc), _zone, inclusive: false);
        return occurrence is { } at ? at - now : TimeSpan.MaxValue;
    }

    /// <summary>Go-style durations as Temporal accepts them: 90s, 5m, 1h30m, 2h, 1d (schedules' <c>@every</c> too).</summary>
    internal static TimeSpan? ParseGoDuration(string text)
    {
        var total = TimeSpan.Zero;
        var number = string.Empty;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsAsciiDigit(c) || c == '.')
            {
                number += c;
                continue;
            }

            if (number.Length == 0 || !double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }

            var unit = c == 'm' && i + 1 < text.Length && text[i + 1] == 's' ? "ms" : c.ToString();
            i += unit.Length - 1;
            total += unit switch
            {
                "d" => TimeSpan.FromDays(value),
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => TimeSpan.MinValue,
            };
            if (total < TimeSpan.Zero)
            {
                return null;
            }

            number = string.Empty;
        }

        return number.Length == 0 && total > TimeSpan.Zero ? total : null;
    }
}
