using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bastion.Engine.Deployments;

/// <summary>
/// One worker deployment as stored: its versions (each with the task queues its workers polled and its metadata) and
/// its routing config — the current version (null: unversioned workers) and an optional ramping version with its
/// percentage. Temporal keeps this in a per-deployment system workflow; here it is one versioned row.
/// </summary>
public sealed class WorkerDeploymentState
{
    public required string Name { get; set; }

    /// <summary>The row's version; its big-endian bytes are the conflict token the API hands out.</summary>
    public long Version { get; set; }

    public DateTime CreateTime { get; set; }

    public string LastModifierIdentity { get; set; } = string.Empty;

    public string ManagerIdentity { get; set; } = string.Empty;

    /// <summary>The request id of the CreateWorkerDeployment call that made it; null: created by its workers' first poll.</summary>
    public string? CreateRequestId { get; set; }

    /// <summary>The current version's build id; null when unversioned workers are current.</summary>
    public string? CurrentBuildId { get; set; }

    public DateTime? CurrentChangedTime { get; set; }

    public bool HasRamping { get; set; }

    /// <summary>The ramping version's build id when <see cref="HasRamping"/>; null ramps unversioned workers.</summary>
    public string? RampingBuildId { get; set; }

    public float RampPercentage { get; set; }

    public DateTime? RampingChangedTime { get; set; }

    public DateTime? RampPercentageChangedTime { get; set; }

    /// <summary>Bumped by every routing change (Temporal's <c>revision_number</c>).</summary>
    public long RevisionNumber { get; set; }

    /// <summary>
    /// The conflict token's value: bumped by a routing change and by a new manager, as Temporal's token changes, and by
    /// nothing else — a version registering as its workers first poll leaves a token read before it good.
    /// </summary>
    public long TokenRevision { get; set; }

    /// <summary>The routing (current or ramping version, ramp percentage) changed: its revision and the conflict token move on.</summary>
    public void NextRoutingRevision()
    {
        RevisionNumber++;
        TokenRevision++;
    }

    public List<DeploymentVersionState> Versions { get; set; } = [];

    public DeploymentVersionState? Find(string buildId) => Versions.Find(v => v.BuildId == buildId);

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, DeploymentJsonContext.Default.WorkerDeploymentState);

    public static WorkerDeploymentState Deserialize(byte[] data) =>
        JsonSerializer.Deserialize(data, DeploymentJsonContext.Default.WorkerDeploymentState) ?? throw new InvalidDataException("Worker deployment record is empty.");

    public WorkerDeploymentState Clone() => Deserialize(Serialize());
}

/// <summary>One version of a deployment.</summary>
public sealed class DeploymentVersionState
{
    public required string BuildId { get; set; }

    public DateTime CreateTime { get; set; }

    /// <summary>The request id of the CreateWorkerDeploymentVersion call that made it; null: created by its workers' first poll.</summary>
    public string? CreateRequestId { get; set; }

    /// <summary>Task queues (name, <c>TaskQueueType</c> number) its workers polled.</summary>
    public List<VersionTaskQueue> TaskQueues { get; set; } = [];

    /// <summary>Metadata entries: each a <c>temporal.api.common.v1.Payload</c> as encoded bytes.</summary>
    public Dictionary<string, byte[]> Metadata { get; set; } = [];

    /// <summary>A <c>WorkerDeploymentVersionStatus</c> number.</summary>
    public int Status { get; set; } = (int)Temporalio.Api.Enums.V1.WorkerDeploymentVersionStatus.Inactive;

    public DateTime? CurrentSinceTime { get; set; }

    public DateTime? RampingSinceTime { get; set; }

    public DateTime? RoutingUpdateTime { get; set; }

    public DateTime? FirstActivationTime { get; set; }

    public DateTime? LastCurrentTime { get; set; }

    public DateTime? LastDeactivationTime { get; set; }

    public string LastModifierIdentity { get; set; } = string.Empty;
}

public sealed record VersionTaskQueue(string Name, int Type);

[JsonSerializable(typeof(WorkerDeploymentState))]
internal sealed partial class DeploymentJsonContext : JsonSerializerContext;
