using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bastion.Engine.Namespaces;

/// <summary>A namespace: <c>&lt;name&gt;.&lt;account&gt;</c>, with its internal id and settings.</summary>
public sealed record NamespaceEntry
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

    /// <summary>Registered, or deprecated (no new workflows); Temporal's <c>NamespaceState</c> by name.</summary>
    public NamespaceLifecycle State { get; init; } = NamespaceLifecycle.Registered;

    /// <summary>Free-form key/values set with RegisterNamespace / UpdateNamespace (Temporal's <c>NamespaceInfo.data</c>).</summary>
    public IReadOnlyDictionary<string, string> Data { get; init; } = new Dictionary<string, string>();

    /// <summary>Custom search attributes, by name: registered with OperatorService.AddSearchAttributes or the Cloud Ops API's namespace spec.</summary>
    public IReadOnlyDictionary<string, Bastion.Visibility.SearchAttributeType> SearchAttributes { get; init; } =
        new Dictionary<string, Bastion.Visibility.SearchAttributeType>(StringComparer.Ordinal);

    /// <summary>
    /// Workflow rules (Temporal keeps them in the namespace's config too), by rule id: each an encoded
    /// <c>temporal.api.rules.v1.WorkflowRule</c>.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> WorkflowRules { get; init; } = new Dictionary<string, byte[]>(StringComparer.Ordinal);

    /// <summary>mTLS client authentication for the namespace's endpoint; null: no client certificate is accepted.</summary>
    public NamespaceTlsPolicy? Tls { get; init; }

    /// <summary>Whether API keys may reach the namespace (Cloud's <c>api_key_auth.enabled</c>); deny by default.</summary>
    public bool ApiKeyAuth { get; init; }

    /// <summary>Refuses deletion while set (Cloud's <c>lifecycle.enable_delete_protection</c>).</summary>
    public bool DeleteProtection { get; init; }

    /// <summary>The codec server the UI uses for this namespace; null: none.</summary>
    public NamespaceCodecServer? CodecServer { get; init; }

    /// <summary>
    /// Provisioned capacity in Temporal Resource Units (Cloud's <c>capacity_spec.provisioned.value</c>); null: on-demand,
    /// the server's default limits. See <c>NamespaceLimits</c> for what a unit buys.
    /// </summary>
    public double? ProvisionedCapacity { get; init; }

    /// <summary>Bumped by every stored change: the Cloud Ops API's <c>resource_version</c>.</summary>
    public long Version { get; init; }

    public DateTime LastModifiedTime { get; init; }

    internal byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, NamespaceJsonContext.Default.NamespaceEntry);

    internal static NamespaceEntry Deserialize(byte[] data) =>
        JsonSerializer.Deserialize(data, NamespaceJsonContext.Default.NamespaceEntry) ?? throw new InvalidDataException("Namespace record is empty.");
}

/// <summary>A namespace's lifecycle state (deleted namespaces are gone from the registry).</summary>
public enum NamespaceLifecycle
{
    Registered,
    Deprecated,
}

/// <summary>A namespace's codec server: where the UI sends payloads to decode, and what it passes along.</summary>
public sealed record NamespaceCodecServer(string Endpoint, bool PassAccessToken, bool IncludeCrossOriginCredentials);

[JsonSerializable(typeof(NamespaceEntry))]
internal sealed partial class NamespaceJsonContext : JsonSerializerContext;
