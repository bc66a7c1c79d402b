using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bastion.Engine.Namespaces;

/// <summary>A namespace: <c>&lt;name&gt;.&lt;account&gt;</c>, with its internal id and settings.</summary>
public sealed class NamespaceEntry
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Account { get; init; }

    /// <summary>The namespace's full name, as Temporal Cloud spells it.</summary>
    [JsonIgnore]
    public string FullName => $"{Name}.{Account}";

    public string Description { get; init; } = string.Empty;

    public string OwnerEmail { get; init; } = string.Empty;

    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(1);

    public DateTime CreatedTime { get; init; }

    /// <summary>mTLS client authentication for the namespace's endpoint; null: no client certificate is accepted.</summary>
    public NamespaceTlsPolicy? Tls { get; init; }

    /// <summary>The codec server the UI uses to show this namespace's encrypted payloads; null: none.</summary>
    public NamespaceCodecServer? CodecServer { get; init; }

    /// <summary>A copy with another TLS policy (entries are immutable: readers holding one never see it change).</summary>
    public NamespaceEntry WithTls(NamespaceTlsPolicy? tls) => Copy(tls, CodecServer);

    /// <summary>A copy with another codec-server setting.</summary>
    public NamespaceEntry WithCodecServer(NamespaceCodecServer? codecServer) => Copy(Tls, codecServer);

    private NamespaceEntry Copy(NamespaceTlsPolicy? tls, NamespaceCodecServer? codecServer) => new()
    {
        Id = Id,
        Name = Name,
        Account = Account,
        Description = Description,
        OwnerEmail = OwnerEmail,
        Retention = Retention,
        CreatedTime = CreatedTime,
        Tls = tls,
        CodecServer = codecServer,
    };

    internal byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, NamespaceJsonContext.Default.NamespaceEntry);

    internal static NamespaceEntry Deserialize(byte[] data) =>
        JsonSerializer.Deserialize(data, NamespaceJsonContext.Default.NamespaceEntry) ?? throw new InvalidDataException("Namespace record is empty.");
}

/// <summary>A namespace's codec server: where the UI sends payloads to decode, and what it passes along.</summary>
public sealed record NamespaceCodecServer(string Endpoint, bool PassAccessToken, bool IncludeCrossOriginCredentials);

[JsonSerializable(typeof(NamespaceEntry))]
internal sealed partial class NamespaceJsonContext : JsonSerializerContext;
