using System.Globalization;
using System.Text;
using System.Text.Json;
using Bastion.Engine.Namespaces;
using Bastion.Visibility;
using Google.Protobuf;
using Temporalio.Api.Common.V1;

namespace Bastion.Engine.Visibility;

/// <summary>
/// Search-attribute payloads as Temporal encodes them: <c>encoding: json/plain</c>, metadata <c>type</c> naming the
/// attribute type, JSON data. Validates them against the namespace's attributes and turns them into the typed
/// attribute map of the visibility row.
/// </summary>
internal static class SearchAttributeValues
{
    private static readonly ByteString s_jsonPlain = ByteString.CopyFromUtf8("json/plain");

    /// <summary>An attribute a query or a workflow may use in this namespace: system, predefined or registered.</summary>
    public static AttributeDefinition? Resolve(NamespaceEntry ns, string name)
    {
        ArgumentNullException.ThrowIfNull(ns);
        if (SystemAttributes.TryGet(name, out var definition))
        {
            return definition;
        }

        return ns.SearchAttributes.TryGetValue(name, out var type) ? new AttributeDefinition(name, type, null) : null;
    }

    /// <summary>
    /// Why these values cannot be stored (an unknown name, a system attribute, a value not of the attribute's type),
    /// or null. Values without a <c>type</c> get the registered one, as Temporal does.
    /// </summary>
    public static string? Problem(NamespaceEntry ns, SearchAttributes? attributes)
    {
        if (attributes is null)
        {
            return null;
        }

        foreach (var (name, payload) in attributes.IndexedFields)
        {
            var definition = Resolve(ns, name);
            if (definition is null)
            {
                return $"search attribute {Quote(name)} is not defined in this namespace; add it with OperatorService.AddSearchAttributes.";
            }

            if (definition.IsSystem || SystemAttributes.IsServerManaged(name))
            {
                return $"search attribute {Quote(name)} is a system attribute and cannot be set.";
            }

            if (IsUnset(payload))
            {
                continue;
            }

            if (payload.Metadata.TryGetValue("type", out var declared) && !string.Equals(declared.ToStringUtf8(), definition.Type.ToString(), StringComparison.Ordinal))
            {
                return $"search attribute {Quote(name)} is of type {definition.Type}, the value is marked {Quote(declared.ToStringUtf8())}.";
            }

            if (ToJsonValue(payload, definition.Type) is null)
            {
                return $"search attribute {Quote(name)} of type {definition.Type} has an invalid value {Quote(payload.Data.ToStringUtf8())}.";
            }

            payload.Metadata["type"] = ByteString.CopyFromUtf8(definition.Type.ToString());
        }

        return null;
    }

    /// <summary>The row's attribute map: a JSON object of typed values (Datetime as UTC ticks), see VisibilityRecord.</summary>
    public static string ToJson(byte[]? attributes)
    {
        if (attributes is null)
        {
            return "{}";
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, payload) in SearchAttributes.Parser.ParseFrom(attributes).IndexedFields)
            {
                if (payload.Metadata.TryGetValue("type", out var type)
                    && Enum.TryParse<SearchAttributeType>(type.ToStringUtf8(), out var parsed)
                    && ToJsonValue(payload, parsed) is { } value)
                {
                    json.WritePropertyName(name);
                    value.WriteTo(json);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A value that removes the attribute: null, or an empty list (how older SDKs unset one), as in Temporal.</summary>
    public static bool IsUnset(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return payload.Data.IsEmpty
            || (payload.Metadata.TryGetValue("encoding", out var encoding) && encoding.ToStringUtf8() == "binary/null")
            || (encoding == s_jsonPlain && payload.Data.ToStringUtf8().Trim() == "[]");
    }

    /// <summary>The value in the row's typed form, or null when the payload is not a value of that type.</summary>
    private static JsonElement? ToJsonValue(Payload payload, SearchAttributeType type)
    {
        if (!payload.Metadata.TryGetValue("encoding", out var encoding) || encoding != s_jsonPlain)
        {
            return null;
        }

        JsonElement element;
        try
        {
            element = JsonDocument.Parse(payload.Data.Memory).RootElement;
        }
        catch (JsonException)
        {
            return null;
        }

        // Temporal accepts a list for every type (the SDKs' untyped attributes are lists); an SQL visibility store
        // indexes a one-element list as its element and cannot index more than one value of a single-valued type.
        if (type != SearchAttributeType.KeywordList && element.ValueKind == JsonValueKind.Array)
        {
            if (element.GetArrayLength() != 1)
            {
                return null;
            }

            element = element[0];
        }

        var valid = type switch
        {
            SearchAttributeType.Keyword or SearchAttributeType.Text => element.ValueKind == JsonValueKind.String,
            SearchAttributeType.Int => element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out _),
            SearchAttributeType.Double => element.ValueKind == JsonValueKind.Number,
            SearchAttributeType.Bool => element.ValueKind is JsonValueKind.True or JsonValueKind.False,
            SearchAttributeType.Datetime => element.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(element.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
            SearchAttributeType.KeywordList => element.ValueKind == JsonValueKind.String
                || (element.ValueKind == JsonValueKind.Array && element.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)),
            _ => false,
        };
        if (!valid)
        {
            return null;
        }

        return type switch
        {
            SearchAttributeType.Datetime => JsonDocument.Parse(
                DateTimeOffset.Parse(element.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).UtcTicks.ToString(CultureInfo.InvariantCulture)).RootElement,
            SearchAttributeType.KeywordList when element.ValueKind == JsonValueKind.String =>
                JsonDocument.Parse($"[{element.GetRawText()}]").RootElement,
            _ => element.Clone(),
        };
    }

    private static string Quote(string value) => Errors.ServiceException.Quote(value);
}
