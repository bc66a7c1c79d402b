using System.Globalization;
using System.Text.RegularExpressions;

namespace Bastion.Visibility.Query;

/// <summary>
/// Resolves a parsed query against the namespace's attributes: every name must exist, every operator must suit
/// the attribute's type, every value must parse as that type. The result carries typed values, ready for SQL.
/// </summary>
public static partial class Binder
{
    /// <summary>What a query may order by: immutable-or-monotonic times, so keyset paging stays exact.</summary>
    public static IReadOnlySet<string> Sortable { get; } = new HashSet<string>(StringComparer.Ordinal) { "StartTime", "ExecutionTime", "CloseTime" };

    /// <param name="resolve">The namespace's attributes by name (system, predefined and custom), or null.</param>
    /// <param name="forCount">GROUP BY is allowed (Count only); ORDER BY is not.</param>
    public static ListQuery Bind(ListQuery query, Func<string, AttributeDefinition?> resolve, bool forCount)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(resolve);
        var filter = query.Filter is { } f ? BindExpr(f, resolve) : null;
        var order = new List<OrderTerm>();
        foreach (var term in query.OrderBy)
        {
            if (forCount)
            {
                throw new InvalidQueryException(term.Attribute.Position, "ORDER BY is not allowed in a count");
            }

            var name = Resolve(term.Attribute, resolve);
            if (!Sortable.Contains(name.Definition.Name) || order.Count > 0)
            {
                throw new InvalidQueryException(term.Attribute.Position, "ORDER BY accepts one of StartTime, ExecutionTime, CloseTime");
            }

            order.Add(term with { Attribute = name });
        }

        var group = new List<AttributeName>();
        foreach (var term in query.GroupBy)
        {
            var name = Resolve(term, resolve);
            if (!forCount || name.Definition.Name != "ExecutionStatus" || group.Count > 0)
            {
                throw new InvalidQueryException(term.Position, forCount
                    ? "GROUP BY accepts only ExecutionStatus"
                    : "GROUP BY is allowed only in a count");
            }

            group.Add(name);
        }

        return query with { Filter = filter, OrderBy = order, GroupBy = group };
    }

    private static Expr BindExpr(Expr expr, Func<string, AttributeDefinition?> resolve)
    {
        switch (expr)
        {
            case AndExpr and:
                return new AndExpr(BindExpr(and.Left, resolve), BindExpr(and.Right, resolve));
            case OrExpr or:
                return new OrExpr(BindExpr(or.Left, resolve), BindExpr(or.Right, resolve));
            case CompareExpr compare:
            {
                var name = Resolve(compare.Attribute, resolve);
                var type = name.Definition.Type;
                var isRange = compare.Op is not (CompareOp.Equal or CompareOp.NotEqual);
                if (isRange && (type is SearchAttributeType.Bool or SearchAttributeType.Text or SearchAttributeType.KeywordList
                    || name.Definition.Values == ValueMapping.Status))
                {
                    throw Unsupported(compare.Attribute, name.Definition, "a range comparison");
                }

                return new CompareExpr(name, compare.Op, Convert(compare.Value, name.Definition));
            }

            case InExpr @in:
            {
                var name = Resolve(@in.Attribute, resolve);
                if (name.Definition.Type is SearchAttributeType.Text or SearchAttributeType.Bool)
                {
                    throw Unsupported(@in.Attribute, name.Definition, @in.Negated ? "NOT IN" : "IN");
                }

                return new InExpr(name, @in.Values.Select(v => Convert(v, name.Definition)).ToList(), @in.Negated);
            }

            case BetweenExpr between:
            {
                var name = Resolve(between.Attribute, resolve);
                if (name.Definition.Type is SearchAttributeType.Text or SearchAttributeType.Bool or SearchAttributeType.KeywordList
                    || name.Definition.Values == ValueMapping.Status)
                {
                    throw Unsupported(between.Attribute, name.Definition, "BETWEEN");
                }

                return new BetweenExpr(name, Convert(between.Low, name.Definition), Convert(between.High, name.Definition), between.Negated);
            }

            case StartsWithExpr startsWith:
            {
                var name = Resolve(startsWith.Attribute, resolve);
                if (name.Definition.Type != SearchAttributeType.Keyword || name.Definition.Values != ValueMapping.AsWritten)
                {
                    throw Unsupported(startsWith.Attribute, name.Definition, "STARTS_WITH");
                }

                if (!startsWith.Prefix.IsString)
                {
                    throw new InvalidQueryException(startsWith.Prefix.Position, "STARTS_WITH needs a quoted string");
                }

                return new StartsWithExpr(name, startsWith.Prefix with { Value = startsWith.Prefix.Text });
            }

            case IsNullExpr isNull:
                return new IsNullExpr(Resolve(isNull.Attribute, resolve), isNull.Negated);
            default:
                throw new InvalidOperationException($"Unknown expression {expr.GetType().Name}.");
        }
    }

    private static AttributeName Resolve(AttributeName name, Func<string, AttributeDefinition?> resolve) =>
        name with
        {
            Resolved = resolve(name.Name)
                ?? throw new InvalidQueryException(name.Position, $"unknown search attribute '{Truncate(name.Name)}'"),
        };

    private static InvalidQueryException Unsupported(AttributeName name, AttributeDefinition definition, string what) =>
        new(name.Position, $"{what} is not supported on {definition.Name} ({definition.Type})");

    /// <summary>The typed value: string, long (ints, times as ticks, durations as nanoseconds, statuses), double or bool.</summary>
    private static Literal Convert(Literal literal, AttributeDefinition definition)
    {
        object? value = (definition.Type, definition.Values) switch
        {
            (_, ValueMapping.Status) => ParseStatus(literal) is { } status ? status : null,
            (_, ValueMapping.Duration) => ParseDuration(literal) is { } duration ? duration : null,
            (SearchAttributeType.Keyword or SearchAttributeType.Text or SearchAttributeType.KeywordList, _) when literal.IsString => literal.Text,
            (SearchAttributeType.Int, _) when !literal.IsString && long.TryParse(literal.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
            (SearchAttributeType.Double, _) when double.TryParse(literal.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !literal.IsString => d,
            (SearchAttributeType.Bool, _) when literal.Text.ToLowerInvariant() is "true" or "false" => literal.Text.Equals("true", StringComparison.OrdinalIgnoreCase),
            (SearchAttributeType.Datetime, _) => ParseTime(literal) is { } time ? time : null,
            _ => null,
        };
        return value is null
            ? throw new InvalidQueryException(literal.Position, $"'{Truncate(literal.Text)}' is not a valid {definition.Type} value for {definition.Name}")
            : literal with { Value = value };
    }

    private static long? ParseStatus(Literal literal)
    {
        var names = SystemAttributes.StatusNames;
        for (var i = 1; i < names.Count; i++)
        {
            if (string.Equals(names[i], literal.Text, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Times as RFC 3339 strings, or integers (nanoseconds since the Unix epoch); stored as UTC ticks.</summary>
    private static long? ParseTime(Literal literal)
    {
        if (literal.IsString)
        {
            return DateTimeOffset.TryParse(literal.Text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                ? time.UtcTicks
                : null;
        }

        return long.TryParse(literal.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var nanos)
            ? DateTime.UnixEpoch.Ticks + (nanos / 100)
            : null;
    }

    /// <summary>Durations as Go writes them (<c>1h30m</c>, <c>250ms</c>), as <c>hh:mm:ss</c>, or as nanoseconds.</summary>
    private static long? ParseDuration(Literal literal)
    {
        if (long.TryParse(literal.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var nanos))
        {
            return nanos;
        }

        if (TimeSpan.TryParseExact(literal.Text, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out var span))
        {
            return span.Ticks * 100;
        }

        var matches = GoDuration().Matches(literal.Text);
        if (matches.Count == 0 || matches.Sum(m => m.Length) != literal.Text.Length)
        {
            return null;
        }

        double total = 0;
        foreach (Match m in matches)
        {
            var amount = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += amount * m.Groups[2].Value switch
            {
                "h" => 3.6e12,
                "m" => 6e10,
                "s" => 1e9,
                "ms" => 1e6,
                "us" or "µs" => 1e3,
                _ => 1,
            };
        }

        return (long)total;
    }

    private static string Truncate(string text) => text.Length > 60 ? text[..60] + "…" : text;

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")]
    private static partial Regex GoDuration();
}
