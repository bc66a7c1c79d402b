using System.Globalization;
using Bastion.Engine.History;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Temporalio.Api.Failure.V1;

namespace Bastion.Engine.Rules;

/// <summary>
/// A workflow rule's activity-start predicate (<c>ActivityStartingTrigger.predicate</c>), compiled once: the list
/// filter's syntax (<see cref="Parser"/>) over the fields Temporal's activity matcher reads, with its operators —
/// <c>ActivityId</c>, <c>ActivityType</c>, <c>TaskQueue</c>: <c>=, !=, STARTS_WITH</c>; <c>ActivityState</c>
/// (Scheduled, Started, CancelRequested, Paused): <c>=, !=</c>; <c>Attempts</c>, <c>BackoffInterval</c> (seconds):
/// comparisons; <c>StartedTime</c> (RFC 3339): comparisons and [NOT] BETWEEN; <c>LastFailure</c> (the last
/// failure's message): <c>=, !=, STARTS_WITH</c>. The API's own names <c>ActivityStatus</c> and
/// <c>ActivityAttempt</c> are accepted too. Names are case-sensitive, as Temporal's. Anything else is refused when
/// the rule is created, never at dispatch.
/// </summary>
internal sealed class ActivityPredicate
{
    private static readonly string[] s_states = ["Scheduled", "Started", "CancelRequested", "Paused"];

    private readonly Func<ActivityInfo, bool> _matches;

    private ActivityPredicate(Func<ActivityInfo, bool> matches) => _matches = matches;

    public bool Matches(ActivityInfo info) => _matches(info);

    /// <exception cref="InvalidQueryException">The predicate is not one Temporal's matcher accepts.</exception>
    public static ActivityPredicate Compile(string? text)
    {
        var parsed = Parser.Parse(text);
        if (parsed.Filter is null)
        {
            throw new InvalidQueryException(0, "the predicate is empty");
        }

        if (parsed.OrderBy.Count > 0 || parsed.GroupBy.Count > 0)
        {
            throw new InvalidQueryException(0, "ORDER BY and GROUP BY are not allowed in an activity predicate");
        }

        return new ActivityPredicate(CompileExpr(parsed.Filter));
    }

    private static Func<ActivityInfo, bool> CompileExpr(Expr expr)
    {
        switch (expr)
        {
            case AndExpr and:
            {
                var (left, right) = (CompileExpr(and.Left), CompileExpr(and.Right));
                return a => left(a) && right(a);
            }

            case OrExpr or:
            {
                var (left, right) = (CompileExpr(or.Left), CompileExpr(or.Right));
                return a => left(a) || right(a);
            }

            case CompareExpr compare:
                return Compare(compare);
            case StartsWithExpr startsWith:
            {
                var read = TextField(startsWith.Attribute, "STARTS_WITH");
                var prefix = Text(startsWith.Attribute, startsWith.Prefix);
                return a => read(a) is { } value && value.StartsWith(prefix, StringComparison.Ordinal);
            }

            case BetweenExpr between when between.Attribute.Name == "StartedTime":
            {
                var (low, high) = (Time(between.Low), Time(between.High));
                return a => a.StartedTime is { } started && (started >= low && started <= high) != between.Negated;
            }

            default:
                throw new InvalidQueryException(expr.Position, $"operation is not supported: {Describe(expr)}");
        }
    }

    private static Func<ActivityInfo, bool> Compare(CompareExpr compare)
    {
        var name = compare.Attribute.Name;
        switch (name)
        {
            case "Attempts" or "ActivityAttempt":
                return Ordered(compare, Number(compare), a => a.Attempt);
            case "BackoffInterval":
            {
                // The wait before this attempt, in whole seconds; the first attempt has none (never matches).
                var test = Ordered(compare, Number(compare), a => (long)(a.ScheduledTime - a.LastAttemptCompleteTime!.Value).TotalSeconds);
                return a => a.Attempt >= 2 && a.LastAttemptCompleteTime is not null && test(a);
            }

            case "StartedTime":
            {
                // An attempt not started yet compares as the zero time, as in Temporal.
                var test = Ordered(compare, Time(compare.Value).Ticks, a => (a.StartedTime ?? DateTime.UnixEpoch).Ticks);
                return test;
            }

            case "ActivityState" or "ActivityStatus":
            {
                var state = Text(compare.Attribute, compare.Value);
                if (!s_states.Contains(state, StringComparer.Ordinal))
                {
                    throw new InvalidQueryException(compare.Value.Position, $"{name} is one of {string.Join(", ", s_states)}, not '{state}'");
                }

                return Equality(compare, a => StateOf(a) == state);
            }

            default:
            {
                var read = TextField(compare.Attribute, compare.Op.Symbol());
                var value = Text(compare.Attribute, compare.Value);

                // No last failure matches nothing (Temporal's rule), with = or !=.
                return compare.Op switch
                {
                    CompareOp.Equal => a => read(a) is { } v && v == value,
                    CompareOp.NotEqual => a => read(a) is { } v && v != value,
                    _ => throw new InvalidQueryException(compare.Attribute.Position, $"invalid expression: operation {compare.Op.Symbol()} is not supported for {name} filter"),
                };
            }
        }
    }

    /// <summary>The text fields (null: the field has no value for this activity).</summary>
    private static Func<ActivityInfo, string?> TextField(AttributeName attribute, string op) => attribute.Name switch
    {
        "ActivityId" => a => a.ActivityId,
        "ActivityType" => a => a.ActivityType,
        "TaskQueue" => a => a.TaskQueue,
        "LastFailure" => a => a.LastFailure is { } failure ? Failure.Parser.ParseFrom(failure).Message is { Length: > 0 } message ? message : null : null,
        "Attempts" or "ActivityAttempt" or "BackoffInterval" or "StartedTime" or "ActivityState" or "ActivityStatus" =>
            throw new InvalidQueryException(attribute.Position, $"invalid expression: operation {op} is not supported for {attribute.Name} filter"),
        _ => throw new InvalidQueryException(attribute.Position, $"unknown or unsupported activity search field: {attribute.Name}"),
    };

    /// <summary>Temporal's ActivityState names (a paused activity is Paused, whatever its attempt does).</summary>
    private static string StateOf(ActivityInfo a) =>
        a.Paused ? "Paused" : a.IsStarted ? "Started" : a.CancelRequested ? "CancelRequested" : "Scheduled";

    private static Func<ActivityInfo, bool> Equality(CompareExpr compare, Func<ActivityInfo, bool> equal) => compare.Op switch
    {
        CompareOp.Equal => equal,
        CompareOp.NotEqual => a => !equal(a),
        _ => throw new InvalidQueryException(compare.Attribute.Position, $"invalid expression: operation {compare.Op.Symbol()} is not supported for {compare.Attribute.Name} filter"),
    };

    private static Func<ActivityInfo, bool> Ordered(CompareExpr compare, long value, Func<ActivityInfo, long> read) => compare.Op switch
    {
        CompareOp.Equal => a => read(a) == value,
        CompareOp.NotEqual => a => read(a) != value,
        CompareOp.Less => a => read(a) < value,
        CompareOp.LessOrEqual => a => read(a) <= value,
        CompareOp.Greater => a => read(a) > value,
        _ => a => read(a) >= value,
    };

    private static long Number(CompareExpr compare) =>
        !compare.Value.IsString && long.TryParse(compare.Value.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new InvalidQueryException(compare.Value.Position, $"{compare.Attribute.Name} takes a whole number, not {compare.Value.Text}");

    private static string Text(AttributeName attribute, Literal literal)
    {
        if (!literal.IsString)
        {
            throw new InvalidQueryException(literal.Position, $"{attribute.Name} takes a quoted string, not {literal.Text}");
        }

        return literal.Text.Length > 0 ? literal.Text : throw new InvalidQueryException(literal.Position, $"{attribute.Name} cannot be empty");
    }

    private static DateTime Time(Literal literal) =>
        literal.IsString && DateTimeOffset.TryParse(literal.Text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.UtcDateTime
            : throw new InvalidQueryException(literal.Position, $"StartedTime takes an RFC 3339 time in quotes, not {literal.Text}");

    private static string Describe(Expr expr) => expr switch
    {
        InExpr i => $"IN on {i.Attribute.Name}",
        IsNullExpr n => $"IS NULL on {n.Attribute.Name}",
        BetweenExpr b => $"BETWEEN on {b.Attribute.Name} (only StartedTime)",
        _ => expr.GetType().Name,
    };
}
