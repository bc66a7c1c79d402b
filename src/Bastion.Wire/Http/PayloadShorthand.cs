using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bastion.Wire.Http;

/// <summary>
/// Temporal's HTTP API shows payloads as the JSON they carry ("shorthand"): a <c>json/plain</c> payload is its
/// value, a <c>json/protobuf</c> payload is its object plus <c>_protoMessageType</c>, and <c>Payloads</c> is an
/// array of those. Input in either form is accepted; output falls back to the standard form
/// <c>{"metadata":{…base64…},"data":"base64"}</c> for any payload shorthand cannot show faithfully
/// (other encodings, extra metadata, data that is not JSON, and <c>binary/null</c>, whose standard form Temporal keeps).
/// </summary>
internal static class PayloadShorthand
{
    private const string MessageTypeKey = "_protoMessageType";
    private const string JsonPlain = "json/plain";
    private const string JsonProtobuf = "json/protobuf";
    private const string BinaryNull = "binary/null";

    /// <summary>Any JSON value as a payload in standard protojson form (<c>null</c> is a <c>binary/null</c> payload).</summary>
    public static JsonObject Expand(JsonNode? value)
    {
        switch (value)
        {
            case null:
                return Standard(BinaryNull, null, null);
            case JsonObject o when IsStandard(o):
                return (JsonObject)o.DeepClone();
            case JsonObject o when o.ContainsKey(MessageTypeKey):
                if (o[MessageTypeKey] is not JsonValue typeValue || !typeValue.TryGetValue<string>(out var messageType))
                {
                    throw new FormatException($"The payload key {MessageTypeKey} must be a string naming the message type.");
                }

                var copy = (JsonObject)o.DeepClone();
                copy.Remove(MessageTypeKey);
                return Standard(JsonProtobuf, messageType, Encoding.UTF8.GetBytes(copy.ToJsonString()));
            default:
                return Standard(JsonPlain, null, Encoding.UTF8.GetBytes(value.ToJsonString()));
        }
    }

    /// <summary>A standard-form payload as shorthand, or false when shorthand cannot show it faithfully.</summary>
    public static bool TryCollapse(JsonObject payload, out JsonNode? shorthand)
    {
        shorthand = null;
        if (payload["metadata"] is not JsonObject metadata || !TryText(metadata["encoding"], out var encoding))
        {
            return false;
        }

        var data = payload["data"] is JsonValue d && d.TryGetValue<string>(out var b64) ? Convert.FromBase64String(b64) : [];
        switch (encoding)
        {
            case JsonPlain when metadata.Count == 1:
                return TryParse(data, out shorthand);
            case JsonProtobuf when metadata.Count == 2 && TryText(metadata["messageType"], out var type) && type.Length > 0:
                if (!TryParse(data, out var node) || node is not JsonObject o)
                {
                    return false;
                }

                o[MessageTypeKey] = type;
                shorthand = o;
                return true;
            case BinaryNull:
                shorthand = payload.DeepClone();
                return true;
            default:
                return false;
        }
    }

    /// <summary>An object is a standard-form payload when it has base64 metadata with an encoding and base64 data, nothing else.</summary>
    private static bool IsStandard(JsonObject o)
    {
        if (o["metadata"] is not JsonObject metadata || !metadata.ContainsKey("encoding"))
        {
            return false;
        }

        foreach (var (_, value) in metadata)
        {
            if (value is not JsonValue v || !v.TryGetValue<string>(out var s) || !TryDecodeBase64(s, out _))
            {
                return false;
            }
        }

        if (!o.ContainsKey("data"))
        {
            return TryText(metadata["encoding"], out var encoding) && encoding == BinaryNull;
        }

        return o.Count == 2 && o["data"] is JsonValue data && data.TryGetValue<string>(out var text) && TryDecodeBase64(text, out _);
    }

    private static JsonObject Standard(string encoding, string? messageType, byte[]? data)
    {
        var metadata = new JsonObject { ["encoding"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(encoding)) };
        if (messageType != null)
        {
            metadata["messageType"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(messageType));
        }

        var payload = new JsonObject { ["metadata"] = metadata };
        if (data != null)
        {
            payload["data"] = Convert.ToBase64String(data);
        }

        return payload;
    }

    /// <summary>A base64 metadata value as text.</summary>
    private static bool TryText(JsonNode? node, out string text)
    {
        text = string.Empty;
        if (node is not JsonValue v || !v.TryGetValue<string>(out var b64) || !TryDecodeBase64(b64, out var bytes))
        {
            return false;
        }

        text = Encoding.UTF8.GetString(bytes);
        return true;
    }

    private static bool TryParse(byte[] data, out JsonNode? node)
    {
        node = null;
        try
        {
            node = JsonNode.Parse(data);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>protojson accepts standard and URL-safe base64, padded or not.</summary>
    internal static bool TryDecodeBase64(string text, out byte[] bytes)
    {
        var normalized = text.Replace('-', '+').Replace('_', '/');
        normalized += (normalized.Length % 4) switch { 2 => "==", 3 => "=", _ => string.Empty };
        bytes = new byte[normalized.Length];
        if (Convert.TryFromBase64String(normalized, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }

        return false;
    }
}
