using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;

namespace Bastion.Wire.Http;

/// <summary>
/// Temporal's dialect of protojson, as its HTTP API speaks it, converted to and from the standard protojson that
/// Google.Protobuf's <c>JsonParser</c>/<c>JsonFormatter</c> read and write: payload shorthand
/// (<see cref="PayloadShorthand"/>) both ways, and on input enum names in the older form without the type prefix.
/// The walk follows the message descriptor, so only fields that really are payloads or enums change.
/// </summary>
internal static class TemporalJson
{
    private const string PayloadType = "temporal.api.common.v1.Payload";
    private const string PayloadsType = "temporal.api.common.v1.Payloads";

    private enum Direction
    {
        ToStandard,
        ToShorthand,
    }

    /// <summary>Rewrites a request body in place into standard protojson. Throws <see cref="FormatException"/> on a malformed payload.</summary>
    public static void ToStandard(JsonObject message, MessageDescriptor descriptor, bool payloadShorthand) =>
        VisitMessage(message, descriptor, payloadShorthand ? Direction.ToStandard : null);

    /// <summary>Rewrites standard protojson output in place, showing payloads as shorthand.</summary>
    public static void ToShorthand(JsonObject message, MessageDescriptor descriptor) =>
        VisitMessage(message, descriptor, Direction.ToShorthand);

    /// <summary><paramref name="payloads"/> null: enum names only (shorthand off).</summary>
    private static void VisitMessage(JsonObject message, MessageDescriptor descriptor, Direction? payloads)
    {
        foreach (var (key, value) in message.ToList())
        {
            if (value != null && ProtoFields.Find(descriptor, key) is { } field)
            {
                Replace(message, key, value, VisitField(value, field, payloads));
            }
        }
    }

    private static JsonNode? VisitField(JsonNode node, FieldDescriptor field, Direction? payloads)
    {
        if (field.IsMap && node is JsonObject map)
        {
            var valueField = field.MessageType.FindFieldByNumber(2);
            foreach (var (key, value) in map.ToList())
            {
                Replace(map, key, value, VisitValue(value, valueField, payloads, inContainer: true));
            }

            return node;
        }

        if (field.IsRepeated && node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                var value = array[i];
                var visited = VisitValue(value, field, payloads, inContainer: true);
                if (!ReferenceEquals(value, visited))
                {
                    array[i] = visited;
                }
            }

            return node;
        }

        return VisitValue(node, field, payloads, inContainer: false);
    }

    private static JsonNode? VisitValue(JsonNode? node, FieldDescriptor field, Direction? payloads, bool inContainer)
    {
        if (field.FieldType == FieldType.Enum)
        {
            return payloads != Direction.ToShorthand && node is JsonValue v && v.TryGetValue<string>(out var name)
                && ProtoFields.CanonicalEnumName(field.EnumType, name) is { } canonical && canonical != name
                ? JsonValue.Create(canonical)
                : node;
        }

        if (field.FieldType != FieldType.Message || ProtoFields.IsWellKnown(field.MessageType))
        {
            return node;
        }

        switch (field.MessageType.FullName, payloads)
        {
            case (PayloadType, Direction.ToStandard):
                // A payload field set to null is unset; inside an array or a map null is the binary/null payload.
                return node == null && !inContainer ? null : PayloadShorthand.Expand(node);
            case (PayloadType, Direction.ToShorthand):
                return node is JsonObject p && PayloadShorthand.TryCollapse(p, out var shorthand) ? shorthand : node;
            case (PayloadsType, Direction.ToStandard) when node is JsonArray items:
                return new JsonObject { ["payloads"] = new JsonArray([.. items.Select(PayloadShorthand.Expand)]) };
            case (PayloadsType, Direction.ToShorthand) when node is JsonObject o:
                var collapsed = new List<JsonNode?>();
                foreach (var item in o["payloads"] as JsonArray ?? [])
                {
                    if (item is not JsonObject standard || !PayloadShorthand.TryCollapse(standard, out var one))
                    {
                        // Not every payload has a shorthand: keep the standard form, each payload still shown as best it can be.
                        VisitMessage(o, field.MessageType, payloads);
                        return node;
                    }

                    collapsed.Add(one);
                }

                return new JsonArray([.. collapsed]);
        }

        if (node is JsonObject nested)
        {
            VisitMessage(nested, field.MessageType, payloads);
        }

        return node;
    }

    private static void Replace(JsonObject parent, string key, JsonNode? old, JsonNode? replacement)
    {
        if (!ReferenceEquals(old, replacement))
        {
            parent[key] = replacement;
        }
    }
}
