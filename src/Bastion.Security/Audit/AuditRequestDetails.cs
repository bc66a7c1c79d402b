using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Bastion.Security.Audit;

/// <summary>
/// The non-payload request fields an audit record keeps: an allow-list of identifiers (workflow and run id, workflow
/// and activity type, task queue, signal name, activity id, worker identity). Nothing else is read, so payloads,
/// headers, memos, search attribute values, failure details and tokens never reach the log.
/// </summary>
internal static class AuditRequestDetails
{
    private const int MaxValueLength = 256;

    // Top-level field → detail key, and for message fields the string field inside that holds the value.
    private static readonly (string Field, string? Inner, string Key)[] s_allowed =
    [
        ("workflow_id", null, "workflow_id"),
        ("run_id", null, "run_id"),
        ("workflow_execution", "workflow_id", "workflow_id"),
        ("workflow_execution", "run_id", "run_id"),
        ("execution", "workflow_id", "workflow_id"),
        ("execution", "run_id", "run_id"),
        ("workflow_type", "name", "workflow_type"),
        ("task_queue", "name", "task_queue"),
        ("activity_type", "name", "activity_type"),
        ("activity_id", null, "activity_id"),
        ("signal_name", null, "signal_name"),
        ("identity", null, "identity"),
    ];

    private static readonly ConcurrentDictionary<MessageDescriptor, (FieldDescriptor Field, FieldDescriptor? Inner, string Key)[]> s_plans = new();

    private static readonly IReadOnlyDictionary<string, string> s_empty = new Dictionary<string, string>();

    public static IReadOnlyDictionary<string, string> Of(IMessage? request)
    {
        if (request is null)
        {
            return s_empty;
        }

        var plan = s_plans.GetOrAdd(request.Descriptor, Plan);
        if (plan.Length == 0)
        {
            return s_empty;
        }

        var details = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, inner, key) in plan)
        {
            var value = field.Accessor.GetValue(request);
            if (inner != null)
            {
                value = value is IMessage message ? inner.Accessor.GetValue(message) : null;
            }

            if (value is string { Length: > 0 } text && !details.ContainsKey(key))
            {
                details[key] = text.Length > MaxValueLength ? text[..MaxValueLength] : text;
            }
        }

        return details;
    }

    private static (FieldDescriptor, FieldDescriptor?, string)[] Plan(MessageDescriptor descriptor)
    {
        var plan = new List<(FieldDescriptor, FieldDescriptor?, string)>();
        foreach (var (name, innerName, key) in s_allowed)
        {
            var field = descriptor.FindFieldByName(name);
            if (field is null || field.IsRepeated || field.IsMap)
            {
                continue;
            }

            if (innerName is null && field.FieldType == FieldType.String)
            {
                plan.Add((field, null, key));
            }
            else if (innerName is not null && field.FieldType == FieldType.Message
                && field.MessageType.FindFieldByName(innerName) is { FieldType: FieldType.String, IsRepeated: false } inner)
            {
                plan.Add((field, inner, key));
            }
        }

        return [.. plan];
    }
}
