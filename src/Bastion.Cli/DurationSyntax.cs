using System.Globalization;
using System.Text.RegularExpressions;
using Bastion.Engine.Errors;

namespace Bastion.Cli;

/// <summary>Durations as people type them: <c>8h</c>, <c>90m</c>, <c>1h30m</c>, <c>30d</c>, <c>500ms</c>.</summary>
internal static partial class DurationSyntax
{
    public static TimeSpan Parse(string text, string option)
    {
        var match = DurationPattern().Match(text ?? string.Empty);
        if (!match.Success || match.Groups["part"].Captures.Count == 0)
        {
            throw ServiceException.InvalidArgument($"{option} {ServiceException.Quote(text, 40)}: expected a duration such as 8h, 90m, 1h30m or 30d.");
        }

        var total = TimeSpan.Zero;
        for (var i = 0; i < match.Groups["value"].Captures.Count; i++)
        {
            var value = int.Parse(match.Groups["value"].Captures[i].Value, NumberStyles.None, CultureInfo.InvariantCulture);
            total += match.Groups["unit"].Captures[i].Value switch
            {
                "d" => TimeSpan.FromDays(value),
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => TimeSpan.FromSeconds(value),
            };
        }

        return total;
    }

    [GeneratedRegex(@"^(?<part>(?<value>\d{1,6})(?<unit>ms|[dhms]))+$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();
}
