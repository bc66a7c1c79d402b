using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bastion.Engine.Nexus;

/// <summary>
/// A Nexus endpoint of an account: a name callers use, the target it routes to (a worker's namespace and task queue,
/// or an external URL) and the namespaces allowed to call it (Temporal Cloud's allowed-caller-namespaces policy; a
/// namespace not on the list is refused). One record serves both OperatorService's and the Cloud Ops API's view.
/// </summary>
public sealed record NexusEndpointEntry
{
    public required string Id { get; init; }

    public required string Account { get; init; }

    public required string Name { get; init; }

    /// <summary>Bumped by every stored change; OperatorService's <c>version</c>, the Cloud Ops API's <c>resource_version</c>.</summary>
    public long Version { get; init; }

    public DateTime CreatedTime { get; init; }

    public DateTime LastModifiedTime { get; init; }

    /// <summary>The description, a <c>temporal.api.common.v1.Payload</c> as encoded bytes; null when none.</summary>
    public byte[]? Description { get; init; }

    /// <summary>A worker target's namespace id; null for an external target.</summary>
    public string? TargetNamespaceId { get; init; }

    /// <summary>A worker target's task queue.</summary>
    public string? TargetTaskQueue { get; init; }

    /// <summary>An external target's URL (http or https).</summary>
    public string? ExternalUrl { get; init; }

    /// <summary>The ids of the namespaces that may call this endpoint; any other caller is refused.</summary>
    public IReadOnlyList<string> AllowedCallerNamespaceIds { get; init; } = [];

    /// <summary>Temporal's URL prefix for the endpoint's Nexus HTTP surface.</summary>
    [JsonIgnore]
    public string UrlPrefix => $"/nexus/endpoints/{Id}/services";

    internal byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, NexusJsonContext.Default.NexusEndpointEntry);

    internal static NexusEndpointEntry Deserialize(byte[] data) =>
        JsonSerializer.Deserialize(data, NexusJsonContext.Default.NexusEndpointEntry) ?? throw new InvalidDataException("Nexus endpoint record is empty.");
}

[JsonSerializable(typeof(NexusEndpointEntry))]
internal sealed partial class NexusJsonContext : JsonSerializerContext;
