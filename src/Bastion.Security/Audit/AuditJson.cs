using System.Globalization;
using System.Text.Json;
using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// The canonical serialization of an audit record: one JSON object, fields in a fixed order, details sorted by key, no
/// whitespace. It is what is stored, what is hashed into the chain and what export sinks receive (one line each), so it
/// names the record's chain, its sequence number there and its predecessor's hash (a record cannot be moved to another
/// chain or place unnoticed). Fields added later (<c>chain</c>, <c>via</c>) are written only when set — the legacy
/// chain's records have no <c>chain</c> — so that every record older than them reads back to the same bytes.
/// </summary>
public static class AuditJson
{
    private static readonly JsonWriterOptions s_options = new() { Indented = false, SkipValidation = true };

    public static byte[] Serialize(AuditRecord record, string chain, long sequence, ReadOnlySpan<byte> previousHash)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var buffer = new MemoryStream(512);
        using (var json = new Utf8JsonWriter(buffer, s_options))
        {
            json.WriteStartObject();
            json.WriteString("version", record.Version);
            if (chain != AuditChains.Legacy)
            {
                json.WriteString("chain", chain);
            }

            json.WriteNumber("seq", sequence);
            json.WriteString("log_id", record.LogId);
            json.WriteString("kind", record.Kind);
            json.WriteString("emit_time", record.EmitTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("operation", record.Operation);
            json.WriteStartObject("principal");
            json.WriteString("type", record.PrincipalType);
            json.WriteString("id", record.PrincipalId);
            json.WriteString("name", record.PrincipalName);
            json.WriteString("api_key_id", record.ApiKeyId);
            json.WriteEndObject();
            json.WriteString("account", record.Account);
            json.WriteString("namespace", record.Namespace);
            json.WriteString("namespace_id", record.NamespaceId);
            json.WriteNumber("status", record.Status);
            json.WriteString("peer", record.Peer);
            json.WriteString("x_forwarded_for", record.XForwardedFor);
            json.WriteString("request_id", record.RequestId);
            if (record.Via is { } via)
            {
                json.WriteString("via", via); // only when set, so records written before the field serialize as they were
            }
            json.WriteStartObject("details");
            foreach (var (key, value) in record.Details.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            json.WriteString("prev_hash", Convert.ToHexStringLower(previousHash));
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a stored record back: the record, its chain, its sequence number and its predecessor's hash (hex).</summary>
    public static (AuditRecord Record, string Chain, long Sequence, string PreviousHash) Parse(ReadOnlySpan<byte> data)
    {
        using var document = JsonDocument.Parse(data.ToArray());
        var root = document.RootElement;
        var principal = root.GetProperty("principal");
        var details = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var detail in root.GetProperty("details").EnumerateObject())
        {
            details[detail.Name] = detail.Value.GetString() ?? string.Empty;
        }

        var record = new AuditRecord
        {
            Version = root.GetProperty("version").GetString()!,
            LogId = root.GetProperty("log_id").GetString()!,
            Kind = root.GetProperty("kind").GetString()!,
            EmitTime = DateTime.Parse(root.GetProperty("emit_time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            Operation = root.GetProperty("operation").GetString()!,
            PrincipalType = principal.GetProperty("type").GetString()!,
            PrincipalId = principal.GetProperty("id").GetString()!,
            PrincipalName = principal.GetProperty("name").GetString()!,
            ApiKeyId = principal.GetProperty("api_key_id").GetString(),
            Account = root.GetProperty("account").GetString(),
            Namespace = root.GetProperty("namespace").GetString(),
            NamespaceId = root.GetProperty("namespace_id").GetString(),
            Status = root.GetProperty("status").GetInt32(),
            Peer = root.GetProperty("peer").GetString()!,
            XForwardedFor = root.GetProperty("x_forwarded_for").GetString(),
            RequestId = root.GetProperty("request_id").GetString(),
            Via = root.TryGetProperty("via", out var via) ? via.GetString() : null,
            Details = details,
        };
        var chain = root.TryGetProperty("chain", out var named) ? named.GetString()! : AuditChains.Legacy;
        return (record, chain, root.GetProperty("seq").GetInt64(), root.GetProperty("prev_hash").GetString()!);
    }
}
