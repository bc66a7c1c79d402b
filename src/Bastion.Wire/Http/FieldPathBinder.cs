using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;

namespace Bastion.Wire.Http;

/// <summary>
/// Puts path variables and query parameters into a request's protojson before it is parsed, so that one parser
/// checks every value: <c>execution.workflow_id=x</c> becomes <c>{"execution":{"workflowId":"x"}}</c>. Repeated
/// fields take every value given; enums take a name, a number or Temporal's short name; bools take
/// true/false/1/0; Timestamp, Duration, FieldMask and wrapper messages take their protojson string forms.
/// </summary>
internal static class FieldPathBinder
{
    /// <summary>The leaf field a dotted path names, or null when some part names no field or a non-message field.</summary>
    public static FieldDescriptor? Resolve(MessageDescriptor message, string path)
    {
        var parts = path.Split('.');
        var current = message;
        for (var i = 0; i < parts.Length; i++)
        {
            var field = ProtoFields.Find(current, parts[i]);
            if (field == null)
            {
                return null;
            }

            if (i == parts.Length - 1)
            {
                return field;
            }

            if (field.FieldType != FieldType.Message || field.IsRepeated || ProtoFields.IsWellKnown(field.MessageType))
            {
                return null;
            }

            current = field.MessageType;
        }

        return null;
    }

    /// <summary>Whether a path or query value can set this field (scalars, enums, and the string-shaped well-known types).</summary>
    public static bool IsBindable(FieldDescriptor field) =>
        !field.IsMap && (field.FieldType != FieldType.Message || ProtoFields.IsWellKnown(field.MessageType));

    /// <summary>Sets the field at <paramref name="path"/>, replacing what the body said. Throws <see cref="FormatException"/> naming the problem.</summary>
    public static void Set(JsonObject root, MessageDescriptor message, string path, IReadOnlyList<string> values, string source)
    {
        var parts = path.Split('.');
        var target = root;
        var descriptor = message;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            var field = ProtoFields.Find(descriptor, parts[i])!;
            var key = Normalize(target, field);
            if (target[key] is not JsonObject next)
            {
                next = [];
                target[key] = next;
            }

            target = next;
            descriptor = field.MessageType;
        }

        var leaf = ProtoFields.Find(descriptor, parts[^1])!;
        if (!IsBindable(leaf))
        {
            throw new FormatException($"{source} {path} names a message field; set it in the request body.");
        }

        var leafKey = Normalize(target, leaf);
        target[leafKey] = leaf.IsRepeated
            ? new JsonArray([.. values.Select(v => Convert(leaf, v, path, source))])
            : Convert(leaf, values[^1], path, source);
    }

    /// <summary>Uses the JSON name, dropping a value under the proto name so that the field is given once.</summary>
    private static string Normalize(JsonObject target, FieldDescriptor field)
    {
        if (field.Name != field.JsonName)
        {
            target.Remove(field.Name);
        }

        return field.JsonName;
    }

    private static JsonValue Convert(FieldDescriptor field, string value, string path, string source)
    {
        switch (field.FieldType)
        {
            case FieldType.Bool:
                return ParseBool(value) ?? throw new FormatException($"{source} {path}: {Quote(value)} is not a bool (true or false).");
            case FieldType.Enum:
                var name = ProtoFields.CanonicalEnumName(field.EnumType, value)
                    ?? throw new FormatException($"{source} {path}: {Quote(value)} is not a value of {field.EnumType.FullName}.");
                return JsonValue.Create(name);
            case FieldType.Message when field.MessageType.FullName == "google.protobuf.BoolValue":
                return ParseBool(value) ?? throw new FormatException($"{source} {path}: {Quote(value)} is not a bool (true or false).");
            default:
                // Numbers, bytes (base64), Timestamp, Duration, FieldMask and the other wrappers are strings in protojson.
                return JsonValue.Create(value);
        }
    }

    private static JsonValue? ParseBool(string value) => value switch
    {
        "true" or "True" or "TRUE" or "t" or "T" or "1" => JsonValue.Create(true),
        "false" or "False" or "FALSE" or "f" or "F" or "0" => JsonValue.Create(false),
        _ => null,
    };

    private static string Quote(string value) => "\"" + (value.Length > 100 ? value[..100] + "…" : value) + "\"";
}
