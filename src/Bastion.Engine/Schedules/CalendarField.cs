using System.Globalization;
using Temporalio.Api.Schedule.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// One field of a calendar spec in its string form (<c>CalendarSpec</c>, cron strings): <c>*</c>, <c>x</c>,
/// <c>x-z</c>, <c>x-z/y</c>, <c>x/y</c> (x to the field's maximum), comma-separated, with month names (three
/// letters or more) and day-of-week names (two or more) as Temporal accepts them. The ranges are written as
/// Temporal writes them: a single value with <c>End</c> 0, a step of 1 as 0, every year as no range at all, and
/// day of week 7 (Sunday) as 0.
/// </summary>
internal sealed record CalendarField(string Name, int Min, int Max, string Default, string[]? Names = null, int NameMinLength = 0)
{
    public static readonly CalendarField Second = new("second", 0, 59, "0");
    public static readonly CalendarField Minute = new("minute", 0, 59, "0");
    public static readonly CalendarField Hour = new("hour", 0, 23, "0");
    public static readonly CalendarField DayOfMonth = new("day_of_month", 1, 31, "*");
    public static readonly CalendarField Month = new(
        "month", 1, 12, "*", ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"], 3);

    public static readonly CalendarField Year = new("year", 2000, 2100, "*") { AllIsEmpty = true };

    /// <summary>0 and 7 are both Sunday.</summary>
    public static readonly CalendarField DayOfWeek = new("day_of_week", 0, 7, "*", ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"], 2);

    /// <summary>Every value (<c>*</c>) is written as no range (year: an empty list matches every year).</summary>
    public bool AllIsEmpty { get; init; }

    /// <summary>The field's ranges; a problem is a <see cref="FormatException"/> naming the field and the part.</summary>
    public List<Temporalio.Api.Schedule.V1.Range> Parse(string? text)
    {
        var value = string.IsNullOrWhiteSpace(text) ? Default : text.Trim();
        var ranges = new List<Temporalio.Api.Schedule.V1.Range>();
        if (AllIsEmpty && value == "*")
        {
            return ranges;
        }

        foreach (var raw in value.Split(','))
        {
            var part = raw.Trim();
            var step = 1;
            var hasStep = false;
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                if (!int.TryParse(part[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1)
                {
                    throw Problem(raw, "the step must be a positive integer");
                }

                part = part[..slash];
                hasStep = true;
            }

            int start = Min, end = Max;
            if (part != "*")
            {
                var dash = part.IndexOf('-', StringComparison.Ordinal);
                if (dash >= 0)
                {
                    start = Value(part[..dash], raw, Min);
                    end = Value(part[(dash + 1)..], raw, start);
                }
                else
                {
                    start = Value(part, raw, Min);
                    end = hasStep ? Max : start;
                }
            }

            if (ReferenceEquals(this, DayOfWeek) && end == 7)
            {
                // Sunday is stored as 0: a range that reaches 7 ends at 6, plus a 0 when 7 was one of its values.
                if (step == 1 && start <= 1)
                {
                    start = 0;
                }
                else if ((7 - start) % step == 0)
                {
                    ranges.Add(new() { Start = 0 });
                    if (start == 7)
                    {
                        continue;
                    }
                }

                end = 6;
            }

            ranges.Add(new() { Start = start, End = end == start ? 0 : end, Step = step == 1 ? 0 : step });
        }

        return ranges;
    }

    private int Value(string text, string part, int min)
    {
        var s = text.Trim();
        if (Names is { } names && s.Length >= NameMinLength)
        {
            var index = Array.FindIndex(names, n => n.StartsWith(s, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                return index + Min; // names count from the field's minimum: January is 1, Sunday 0
            }
        }

        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Problem(part, $"{Errors.ServiceException.Quote(s)} is not a number{(Names is null ? string.Empty : " or a name")}");
        }

        return value < min || value > Max ? throw Problem(part, $"{value} is out of range [{min}-{Max}]") : value;
    }

    private FormatException Problem(string part, string why) => new($"{Name} {Errors.ServiceException.Quote(part)}: {why}");
}
