using Bastion.Engine.Deployments;
using System.Text.Json.Serialization;
using Google.Protobuf;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Workflow.V1;

namespace Bastion.Engine.History;

/// <summary>
/// A run's worker versioning (Temporal's <c>WorkflowExecutionVersioningInfo</c>): the behavior and version the last
/// workflow task completed with on a versioned worker, the override set at start or by UpdateWorkflowExecutionOptions,
/// the version a continued run inherits from a pinned predecessor, and its continue-as-new initial behavior.
/// Decides which version's workers its tasks go to (<see cref="QueueVersion"/>).
/// </summary>
internal sealed class WorkflowVersioning
{
    /// <summary>A <c>VersioningBehavior</c> number, from the last completed task of a versioned worker.</summary>
    public int Behavior { get; set; }

    public string? DeploymentName { get; set; }

    public string? BuildId { get; set; }

    /// <summary>The <c>VersioningOverride</c> as encoded bytes; null when none.</summary>
    public byte[]? Override { get; set; }

    public string? InheritedDeploymentName { get; set; }

    public string? InheritedBuildId { get; set; }

    /// <summary>A <c>ContinueAsNewVersioningBehavior</c> number: the run was continued asking for this start.</summary>
    public int ContinueAsNewInitialBehavior { get; set; }

    [JsonIgnore]
    public bool IsEmpty => Behavior == 0 && BuildId is null && Override is null && InheritedBuildId is null && ContinueAsNewInitialBehavior == 0;

    [JsonIgnore]
    public DeploymentVersionId? Version => BuildId is null ? null : new(DeploymentName ?? string.Empty, BuildId);

    [JsonIgnore]
    public VersioningOverride? OverrideProto => Override is null ? null : VersioningOverride.Parser.ParseFrom(Override);

    /// <summary>The version the run is pinned to (by override, by its behavior, or inherited until its first task says otherwise); null when it is not pinned.</summary>
    [JsonIgnore]
    public DeploymentVersionId? PinnedVersion
    {
        get
        {
            if (OverrideProto is { } o)
            {
#pragma warning disable CS0612, CS0618 // The deprecated forms of a pinned override are still sent by older clients.
                if (o.Pinned?.Version is { } pinned)
                {
                    return DeploymentVersionId.From(pinned);
                }

                if (o.PinnedVersion is { Length: > 0 } text && text.Contains('.', StringComparison.Ordinal))
                {
                    return DeploymentVersionId.Parse(text, "pinned_version");
                }

                if (o.HasAutoUpgrade || o.Behavior == VersioningBehavior.AutoUpgrade)
                {
                    return null;
                }
#pragma warning restore CS0612, CS0618
            }

            if (Behavior == (int)VersioningBehavior.Pinned && Version is { } version)
            {
                return version;
            }

            return Behavior == 0 && InheritedBuildId is not null ? new(InheritedDeploymentName ?? string.Empty, InheritedBuildId) : null;
        }
    }

    /// <summary>
    /// The version label of the sub-queue a task of this run on <paramref name="taskQueue"/> goes to ("" for unversioned
    /// workers): its pinned version when that version polls the queue, else the queue's routing target for the workflow id.
    /// </summary>
    public static string QueueVersion(WorkflowVersioning? versioning, WorkerDeploymentRegistry deployments, string namespaceId, string taskQueue, string workflowId)
    {
        if (!deployments.HasVersions(namespaceId, taskQueue))
        {
            return string.Empty;
        }

        if (versioning?.PinnedVersion is { } pinned && deployments.HasQueue(namespaceId, pinned, taskQueue))
        {
            return pinned.Canonical;
        }

        return deployments.RoutingOf(namespaceId, taskQueue) is { } routing
            && routing.TargetBuildId(workflowId, UsesRamping(versioning)) is { } build
            ? new DeploymentVersionId(routing.DeploymentName, build).Canonical
            : string.Empty;
    }

    /// <summary>
    /// True when a pinned run's deployment now routes new work of this workflow elsewhere (the SDKs'
    /// <c>TargetWorkerDeploymentVersionChanged</c>, for an upgrade on continue-as-new).
    /// </summary>
    public static bool TargetChanged(WorkflowVersioning? versioning, WorkerDeploymentRegistry deployments, string namespaceId, string taskQueue, string workflowId)
    {
        if (versioning is null || versioning.Behavior != (int)VersioningBehavior.Pinned || versioning.Version is not { } version)
        {
            return false;
        }

        return deployments.RoutingOf(namespaceId, taskQueue) is { } routing
            && routing.DeploymentName == version.DeploymentName
            && routing.TargetBuildId(workflowId) != version.BuildId;
    }

    private static bool UsesRamping(WorkflowVersioning? versioning) =>
        versioning is { Behavior: 0, ContinueAsNewInitialBehavior: (int)ContinueAsNewVersioningBehavior.UseRampingVersion };

    /// <summary>Describe's versioning info; null for a run that never met versioning.</summary>
    public WorkflowExecutionVersioningInfo? ToInfo()
    {
        if (IsEmpty)
        {
            return null;
        }

        var info = new WorkflowExecutionVersioningInfo
        {
            Behavior = (VersioningBehavior)Behavior,
            DeploymentVersion = Version?.ToProto(),
            VersioningOverride = OverrideProto,
            ContinueAsNewInitialVersioningBehavior = (ContinueAsNewVersioningBehavior)ContinueAsNewInitialBehavior,
        };
#pragma warning disable CS0612, CS0618 // The canonical string is still read by older clients and the CLI.
        info.Version = Version?.Canonical ?? string.Empty;
#pragma warning restore CS0612, CS0618
        return info;
    }

    public static byte[]? Encode(VersioningOverride? value) => value is null || value.CalculateSize() == 0 ? null : value.ToByteArray();
}
