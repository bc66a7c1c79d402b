using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bastion.Engine.Namespaces;
using Bastion.Storage;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Google.Protobuf;
using Temporalio.Api.Workflow.V1;

namespace Bastion.Engine.Visibility;

/// <summary>
/// Keeps customer text out of the visibility table's plain columns (encryption at rest, docs/visibility.md):
/// text attributes are stored as the codec's blind index, queries compare against the index of the literal, and
/// what an index cannot answer is evaluated on the decoded <see cref="WorkflowExecutionInfo"/>.
/// </summary>
internal static class VisibilityProtection
{
    /// <summary>The blind-index purpose of an attribute: one per attribute, so equal values of two attributes differ.</summary>
    public static string Purpose(string attributeName) => "sa:" + attributeName;

    /// <summary>
    /// Whether the attribute's stored value is customer text (blind-indexed, or left out when Text). Run ids are
    /// server-made random UUIDs and statuses are numbers: those stay plain.
    /// </summary>
    public static bool IsProtected(AttributeDefinition definition) =>
        definition.Type is SearchAttributeType.Keyword or SearchAttributeType.KeywordList or SearchAttributeType.Text
        && definition.Values == ValueMapping.AsWritten
        && definition.Column is not ("run_id" or "parent_run_id" or "root_run_id");

    public static string Index(IRecordCodec codec, string namespaceId, string attributeName, string value) =>
        codec.Index(namespaceId, Purpose(attributeName), value);

    public static string? IndexOrNull(IRecordCodec codec, string namespaceId, string attributeName, string? value) =>
        value is null ? null : codec.Index(namespaceId, Purpose(attributeName), value);

    /// <summary>
    /// The stored attribute map: Keyword values as blind indexes, KeywordList as arrays of them, Text left out
    /// (answered on the decoded row); numbers, bools and times as they are (docs/security.md lists them).
    /// </summary>
    public static string ProtectJson(string json, string namespaceId, NamespaceEntry? ns, IRecordCodec codec)
    {
        var map = JsonNode.Parse(json)!.AsObject();
        var stored = new JsonObject();
        foreach (var (name, value) in map)
        {
            var type = ns is null ? null : SearchAttributeValues.Resolve(ns, name)?.Type;
            switch (type)
            {
                case SearchAttributeType.Text:
                    break;
                case SearchAttributeType.Keyword when value is JsonValue keyword:
                    stored[name] = Index(codec, namespaceId, name, keyword.GetValue<string>());
                    break;
                case SearchAttributeType.KeywordList when value is JsonArray list:
                    stored[name] = new JsonArray(list.Select(v => (JsonNode?)Index(codec, namespaceId, name, v!.GetValue<string>())).ToArray());
                    break;
                case null when value is JsonValue v && v.GetValueKind() == JsonValueKind.String:
                case null when value is JsonArray:
                    // An attribute no longer registered: its text is kept out all the same.
                    break;
                default:
                    stored[name] = value?.DeepClone();
                    break;
            }
        }

        return stored.ToJsonString();
    }

    /// <summary>
    /// The SQL pre-filter: equality on protected attributes compares blind indexes (exact); a predicate an index
    /// cannot answer becomes <see cref="MatchAllExpr"/>, so the pre-filter selects a superset (the language has no
    /// NOT over sub-expressions, only negated predicates, so widening a predicate widens the whole filter).
    /// <paramref name="exact"/> is false when rows must still be checked with <see cref="Matches"/>.
    /// </summary>
    public static Expr? PreFilter(Expr? filter, string namespaceId, IRecordCodec codec, out bool exact)
    {
        var residual = false;
        var result = filter is null ? null : Rewrite(filter);
        exact = !residual;
        return result;

        Expr Rewrite(Expr expr)
        {
            switch (expr)
            {
                case AndExpr and:
                    return new AndExpr(Rewrite(and.Left), Rewrite(and.Right));
                case OrExpr or:
                    return new OrExpr(Rewrite(or.Left), Rewrite(or.Right));
                case IsNullExpr isNull when isNull.Attribute.Definition.Type != SearchAttributeType.Text:
                    return isNull;
                case CompareExpr compare when IsProtected(compare.Attribute.Definition):
                {
                    var definition = compare.Attribute.Definition;
                    if (definition.Type != SearchAttributeType.Text && compare.Op is CompareOp.Equal or CompareOp.NotEqual)
                    {
                        return compare with { Value = Indexed(definition, compare.Value) };
                    }

                    break;
                }

                case InExpr @in when IsProtected(@in.Attribute.Definition):
                    if (@in.Attribute.Definition.Type != SearchAttributeType.Text)
                    {
                        return @in with { Values = @in.Values.Select(v => Indexed(@in.Attribute.Definition, v)).ToList() };
                    }

                    break;
                case CompareExpr or InExpr or IsNullExpr:
                    if (!IsProtected(AttributeOf(expr)))
                    {
                        return expr;
                    }

                    break;
                case BetweenExpr between when !IsProtected(between.Attribute.Definition):
                    return between;
                case StartsWithExpr startsWith when !IsProtected(startsWith.Attribute.Definition):
                    return startsWith;
            }

            residual = true;
            return new MatchAllExpr(expr.Position);
        }

        Literal Indexed(AttributeDefinition definition, Literal literal) =>
            literal with { Value = Index(codec, namespaceId, definition.Name, (string)literal.Value!) };
    }

    /// <summary>The filter evaluated on a decoded row, with SQL's three-valued logic (a missing value matches nothing, negated or not).</summary>
    public static bool Matches(Expr? filter, WorkflowExecutionInfo info)
    {
        if (filter is null)
        {
            return true;
        }

        using var attributes = JsonDocument.Parse(SearchAttributeValues.ToJson(info.SearchAttributes?.ToByteArray()));
        return Evaluate(filter, info, attributes.RootElement) == true;
    }

    private static AttributeDefinition AttributeOf(Expr expr) => expr switch
    {
        CompareExpr c => c.Attribute.Definition,
        InExpr i => i.Attribute.Definition,
        IsNullExpr n => n.Attribute.Definition,
        _ => throw new InvalidOperationException($"No attribute in {expr.GetType().Name}."),
    };

    private static bool? Evaluate(Expr expr, WorkflowExecutionInfo info, JsonElement attributes)
    {
        switch (expr)
        {
            case AndExpr and:
            {
                var left = Evaluate(and.Left, info, attributes);
                var right = Evaluate(and.Right, info, attributes);
                return left == false || right == false ? false : left is null || right is null ? null : true;
            }

            case OrExpr or:
            {
                var left = Evaluate(or.Left, info, attributes);
                var right = Evaluate(or.Right, info, attributes);
                return left == true || right == true ? true : left is null || right is null ? null : false;
            }

            case MatchAllExpr:
                return true;
            case IsNullExpr isNull:
                return (Value(isNull.Attribute.Definition, info, attributes) is null) != isNull.Negated;
            case CompareExpr compare when compare.Attribute.Definition.Type == SearchAttributeType.KeywordList:
                return ListContains(compare.Attribute.Definition, attributes, compare.Value.Value) != (compare.Op == CompareOp.NotEqual);
            case InExpr @in when @in.Attribute.Definition.Type == SearchAttributeType.KeywordList:
                return @in.Values.Any(v => ListContains(@in.Attribute.Definition, attributes, v.Value)) != @in.Negated;
            case CompareExpr compare:
            {
                var value = Value(compare.Attribute.Definition, info, attributes);
                if (value is null)
                {
                    return null;
                }

                if (compare.Attribute.Definition.Type == SearchAttributeType.Text)
                {
                    var contains = ((string)value).Contains((string)compare.Value.Value!, StringComparison.OrdinalIgnoreCase);
                    return contains != (compare.Op == CompareOp.NotEqual);
                }

                var order = Compare(value, compare.Value.Value!);
                return compare.Op switch
                {
                    CompareOp.Equal => order == 0,
                    CompareOp.NotEqual => order != 0,
                    CompareOp.Less => order < 0,
                    CompareOp.LessOrEqual => order <= 0,
                    CompareOp.Greater => order > 0,
                    _ => order >= 0,
                };
            }

            case InExpr @in:
            {
                var value = Value(@in.Attribute.Definition, info, attributes);
                return value is null ? null : @in.Values.Any(v => Compare(value, v.Value!) == 0) != @in.Negated;
            }

            case BetweenExpr between:
            {
                var value = Value(between.Attribute.Definition, info, attributes);
                return value is null
                    ? null
                    : (Compare(value, between.Low.Value!) >= 0 && Compare(value, between.High.Value!) <= 0) != between.Negated;
            }

            case StartsWithExpr startsWith:
            {
                var value = Value(startsWith.Attribute.Definition, info, attributes);
                return value is null ? null : ((string)value).StartsWith((string)startsWith.Prefix.Value!, StringComparison.Ordinal);
            }

            default:
                throw new InvalidOperationException($"Unknown expression {expr.GetType().Name}.");
        }
    }

    private static bool ListContains(AttributeDefinition definition, JsonElement attributes, object? value) =>
        attributes.TryGetProperty(definition.Name, out var list) && list.ValueKind == JsonValueKind.Array
        && list.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.String && e.GetString() == (string?)value);

    /// <summary>Strings ordinally (as SQLite's BINARY collation), numbers numerically, bools as 0/1.</summary>
    private static int Compare(object stored, object literal) => (stored, literal) switch
    {
        (string a, string b) => string.CompareOrdinal(a, b),
        (bool a, bool b) => a.CompareTo(b),
        (long a, long b) => a.CompareTo(b),
        _ => Convert.ToDouble(stored, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(literal, CultureInfo.InvariantCulture)),
    };

    /// <summary>The attribute's value as the visibility row stores it (times as ticks, durations as nanoseconds), null when absent.</summary>
    private static object? Value(AttributeDefinition definition, WorkflowExecutionInfo info, JsonElement attributes) => definition.Column switch
    {
        "workflow_id" => info.Execution.WorkflowId,
        "run_id" => info.Execution.RunId,
        "workflow_type" => info.Type.Name,
        "status" => (long)info.Status,
        "start_time" => info.StartTime.ToDateTime().Ticks,
        "close_time" => info.CloseTime?.ToDateTime().Ticks,
        "execution_time" => info.ExecutionTime.ToDateTime().Ticks,
        "execution_duration" => info.ExecutionDuration is { } duration ? duration.ToTimeSpan().Ticks * 100 : null,
        "history_length" => info.HistoryLength,
        "history_size_bytes" => info.HistorySizeBytes,
        "state_transition_count" => info.StateTransitionCount,
        "task_queue" => info.TaskQueue,
        "parent_workflow_id" => info.ParentExecution?.WorkflowId,
        "parent_run_id" => info.ParentExecution?.RunId,
        "root_workflow_id" => info.RootExecution?.WorkflowId,
        "root_run_id" => info.RootExecution?.RunId,
        null => attributes.TryGetProperty(definition.Name, out var value) ? JsonValue(value) : null,
        var column => throw new InvalidOperationException($"Unknown visibility column {column}."),
    };

    private static object? JsonValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => value.TryGetInt64(out var whole) ? whole : value.GetDouble(),
        _ => null,
    };
}
