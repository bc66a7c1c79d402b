using Bastion.Engine.Deployments;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Deployment.V1;
using Temporalio.Api.Enums.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>A stored worker deployment in the API's shapes: describe, list summaries, version info.</summary>
internal static class WorkerDeploymentProtos
{
    public static WorkerDeploymentInfo Info(WorkerDeploymentState d) => new()
    {
        Name = d.Name,
        CreateTime = Time(d.CreateTime),
        RoutingConfig = Routing(d),
        LastModifierIdentity = d.LastModifierIdentity,
        ManagerIdentity = d.ManagerIdentity,
        RoutingConfigUpdateState = RoutingConfigUpdateState.Completed, // applied before the call returns
        VersionSummaries = { d.Versions.OrderBy(v => v.CreateTime).Select(v => Summary(d, v)) },
    };

    public static RoutingConfig Routing(WorkerDeploymentState d)
    {
        var routing = new RoutingConfig
        {
            CurrentDeploymentVersion = d.CurrentBuildId is { } current ? new WorkerDeploymentVersion { DeploymentName = d.Name, BuildId = current } : null,
            RampingDeploymentVersion = d is { HasRamping: true, RampingBuildId: { } ramping } ? new WorkerDeploymentVersion { DeploymentName = d.Name, BuildId = ramping } : null,
            RampingVersionPercentage = d.HasRamping ? d.RampPercentage : 0,
            CurrentVersionChangedTime = Time(d.CurrentChangedTime),
            RampingVersionChangedTime = Time(d.RampingChangedTime),
            RampingVersionPercentageChangedTime = Time(d.RampPercentageChangedTime),
            RevisionNumber = d.RevisionNumber,
        };
#pragma warning disable CS0612, CS0618 // The canonical strings are still read by older clients and the CLI.
        routing.CurrentVersion = d.CurrentBuildId is { } c ? $"{d.Name}.{c}" : DeploymentVersionId.Unversioned;
        routing.RampingVersion = !d.HasRamping ? string.Empty : d.RampingBuildId is { } r ? $"{d.Name}.{r}" : DeploymentVersionId.Unversioned;
#pragma warning restore CS0612, CS0618
        return routing;
    }

    public static WorkerDeploymentInfo.Types.WorkerDeploymentVersionSummary Summary(WorkerDeploymentState d, DeploymentVersionState v)
    {
        var summary = new WorkerDeploymentInfo.Types.WorkerDeploymentVersionSummary
        {
            DeploymentVersion = new WorkerDeploymentVersion { DeploymentName = d.Name, BuildId = v.BuildId },
            CreateTime = Time(v.CreateTime),
            Status = (WorkerDeploymentVersionStatus)v.Status,
            DrainageStatus = Drainage(v),
            DrainageInfo = DrainageInfo(v),
            CurrentSinceTime = Time(v.CurrentSinceTime),
            RampingSinceTime = Time(v.RampingSinceTime),
            RoutingUpdateTime = Time(v.RoutingUpdateTime),
            FirstActivationTime = Time(v.FirstActivationTime),
            LastCurrentTime = Time(v.LastCurrentTime),
            LastDeactivationTime = Time(v.LastDeactivationTime),
        };
#pragma warning disable CS0612, CS0618
        summary.Version = $"{d.Name}.{v.BuildId}";
#pragma warning restore CS0612, CS0618
        return summary;
    }

    public static WorkerDeploymentVersionInfo VersionInfo(WorkerDeploymentState d, DeploymentVersionState v)
    {
        var info = new WorkerDeploymentVersionInfo
        {
            DeploymentName = d.Name,
            DeploymentVersion = new WorkerDeploymentVersion { DeploymentName = d.Name, BuildId = v.BuildId },
            CreateTime = Time(v.CreateTime),
            RoutingChangedTime = Time(v.RoutingUpdateTime),
            CurrentSinceTime = Time(v.CurrentSinceTime),
            RampingSinceTime = Time(v.RampingSinceTime),
            FirstActivationTime = Time(v.FirstActivationTime),
            LastCurrentTime = Time(v.LastCurrentTime),
            LastDeactivationTime = Time(v.LastDeactivationTime),
            RampPercentage = d.HasRamping && d.RampingBuildId == v.BuildId ? d.RampPercentage : 0,
            Status = (WorkerDeploymentVersionStatus)v.Status,
            DrainageInfo = DrainageInfo(v),
            Metadata = Metadata(v.Metadata),
            LastModifierIdentity = v.LastModifierIdentity,
            TaskQueueInfos =
            {
                v.TaskQueues.Select(q => new WorkerDeploymentVersionInfo.Types.VersionTaskQueueInfo { Name = q.Name, Type = (TaskQueueType)q.Type }),
            },
        };
#pragma warning disable CS0612, CS0618
        info.Version = $"{d.Name}.{v.BuildId}";
#pragma warning restore CS0612, CS0618
        return info;
    }

    public static VersionMetadata Metadata(IReadOnlyDictionary<string, byte[]> entries)
    {
        var metadata = new VersionMetadata();
        foreach (var (key, value) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            metadata.Entries[key] = Payload.Parser.ParseFrom(value);
        }

        return metadata;
    }

    /// <summary>Drainage is not measured: a version that stopped being current or ramping is reported draining.</summary>
    private static VersionDrainageStatus Drainage(DeploymentVersionState v) =>
        v.Status == (int)WorkerDeploymentVersionStatus.Draining ? VersionDrainageStatus.Draining : VersionDrainageStatus.Unspecified;

    private static VersionDrainageInfo? DrainageInfo(DeploymentVersionState v) =>
        Drainage(v) == VersionDrainageStatus.Unspecified ? null
            : new VersionDrainageInfo { Status = Drainage(v), LastChangedTime = Time(v.LastDeactivationTime), LastCheckedTime = Time(v.LastDeactivationTime) };

    private static Timestamp? Time(DateTime? value) => value is { } t ? Timestamp.FromDateTime(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;
}
