using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Temporalio.Api.Worker.V1;

namespace Bastion.Engine.Workers;

/// <summary>
/// The <c>query</c> of ListWorkers and CountWorkers, evaluated on each heartbeat as Temporal's matching does
/// (<c>worker_query_engine.go</c>): the list filter's syntax (parsed by the visibility <see cref="Parser"/>) over
/// WorkerInstanceKey, WorkerIdentity, HostName, TaskQueue, DeploymentName, BuildId, SdkName, SdkVersion, WorkerStatus
/// (or Status; values such as <c>'Running'</c>) with <c>= != STARTS_WITH NOT STARTS_WITH IS [NOT] NULL</c>, and
/// StartTime, HeartbeatTime (RFC 3339) with comparisons, <c>[NOT] BETWEEN</c> and <c>IS [NOT] NULL</c>. Field names are
/// case-sensitive. A query that does not parse is INVALID_ARGUMENT; a condition that cannot be evaluated on a worker
/// (an unknown field, an unsupported operator, an empty or malformed value) makes that worker not match, as in Temporal.
/// </summary>
internal sealed class WorkerQuery
{
    private static readonly Dictionary<string, Func<WorkerHeartbeat, string>> s_strings = new(StringComparer.Ordinal)
    {
        ["WorkerInstanceKey"] = h => h.WorkerInstanceKey,
        ["WorkerIdentity"] = h => h.WorkerIdentity,
        ["HostName"] = h => h.HostInfo?.HostName ?? string.Empty,
        ["TaskQueue"] = h => h.TaskQueue,
        ["DeploymentName"] = h => h.DeploymentVersion?.DeploymentName ?? string.Empty,
        ["BuildId"] = h => h.DeploymentVersion?.BuildId ?? string.Empty,
        ["SdkName"] = h => h.SdkName,
        ["SdkVersion"] = h => h.SdkVersion,
        ["WorkerStatus"] = Status,
        ["Status"] = Status,
    };

    private static readonly Dictionary<string, Func<WorkerHeartbeat, DateTime?>> s_times = new(StringComparer.Ordinal)
    {
        ["StartTime"] = h => h.StartTime?.ToDateTime(),
        ["HeartbeatTime"] = h => h.HeartbeatTime?.ToDateTime(),
    };

    private readonly Expr? _filter;

    private WorkerQuery(Expr? filter) => _filter = filter;

    /// <summary>The query parsed; an empty query matches every worker.</summary>
    public static WorkerQuery Parse(string? query)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            return new WorkerQuery(null);
        }

        try
        {
            return new WorkerQuery(Parser.Parse(query).Filter);
        }
        catch (InvalidQueryException e)
        {
            throw ServiceException.InvalidArgument($"malformed query {ServiceException.Quote(query)}: {e.Message}");
        }
    }

    public bool Matches(WorkerHeartbeat worker) => _filter is null || Evaluate(_filter, worker) == true;

    /// <summary>True or false; null when the condition cannot be evaluated (the worker then does not match).</summary>
    private static bool? Evaluate(Expr expr, WorkerHeartbeat worker) => expr switch
    {
        AndExpr and => Evaluate(and.Left, worker) is not { } left ? null : !left ? false : Evaluate(and.Right, worker),
        OrExpr or => Evaluate(or.Left, worker) is not { } left ? null : left ? true : Evaluate(or.Right, worker),
        CompareExpr compare => Compare(compare, worker),
        StartsWithExpr startsWith => s_strings.TryGetValue(startsWith.Attribute.Name, out var field) && startsWith.Prefix is { IsString: true, Text.Length: > 0 } prefix
            ? field(worker).StartsWith(prefix.Text, StringComparison.Ordinal) : null,
        IsNullExpr isNull => IsNull(isNull, worker),
        BetweenExpr between => Between(between, worker),
        _ => null, // IN and the rest: not supported by Temporal's worker query
    };

    private static bool? Compare(CompareExpr compare, WorkerHeartbeat worker)
    {
        var name = compare.Attribute.Name;
        if (s_strings.TryGetValue(name, out var field))
        {
            if (compare.Value.Text.Length == 0)
            {
                return null; // "<field> cannot be empty"
            }

            return compare.Op switch
            {
                CompareOp.Equal => field(worker) == compare.Value.Text,
                CompareOp.NotEqual => field(worker) != compare.Value.Text,
                _ => null,
            };
        }

        if (!s_times.TryGetValue(name, out var time) || ParseTime(compare.Value) is not { } expected)
        {
            return null;
        }

        var actual = time(worker) ?? DateTime.UnixEpoch; // an unset time compares as the zero time
        return compare.Op switch
        {
            CompareOp.Equal => actual == expected,
            CompareOp.NotEqual => actual != expected,
            CompareOp.Less => actual < expected,
            CompareOp.LessOrEqual => actual <= expected,
            CompareOp.Greater => actual > expected,
            CompareOp.GreaterOrEqual => actual >= expected,
            _ => null,
        };
    }

    private static bool? IsNull(IsNullExpr isNull, WorkerHeartbeat worker)
    {
        var name = isNull.Attribute.Name;
        bool? empty = s_strings.TryGetValue(name, out var field) ? field(worker).Length == 0
            : s_times.TryGetValue(name, out var time) ? time(worker) is null
            : null;
        return empty is { } e ? e != isNull.Negated : null;
    }

    private static bool? Between(BetweenExpr between, WorkerHeartbeat worker)
    {
        if (!s_times.TryGetValue(between.Attribute.Name, out var time) || ParseTime(between.Low) is not { } low || ParseTime(between.High) is not { } high)
        {
            return null;
        }

        if (time(worker) is not { } actual)
        {
            return false; // a time the heartbeat did not carry is in no range
        }

        return (actual >= low && actual <= high) != between.Negated;
    }

    /// <summary>An RFC 3339 time, or nanoseconds since the epoch, as Temporal's query converter takes them.</summary>
    private static DateTime? ParseTime(Literal value)
    {
        if (!value.IsString && long.TryParse(value.Text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var nanos))
        {
            return DateTime.UnixEpoch.AddTicks(nanos / 100);
        }

        return DateTimeOffset.TryParse(value.Text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed.UtcDateTime : null;
    }

    /// <summary>The status as Temporal's Go enums print it (<c>Running</c>, <c>ShuttingDown</c>, <c>Shutdown</c>).</summary>
    private static string Status(WorkerHeartbeat worker) => worker.Status.ToString();
}
