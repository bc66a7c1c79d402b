using Bastion.Engine.Deployments;
using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// Worker deployments and versions (issue 21): explicit creation, describe and list, current and ramping versions, the
/// manager identity, version metadata, compute config (<see cref="ComputeConfigs"/>) and deletion, through
/// <see cref="WorkerDeploymentRegistry"/>. Versions also appear when versioned workers poll
/// (<see cref="RegisterVersionedPoller"/>). Every call is refused while Temporal's <c>system.enableDeploymentVersions</c>
/// is off.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    private WorkerDeploymentRegistry Deployments => engine.Deployments;

    public Task<DescribeWorkerDeploymentResponse> DescribeWorkerDeployment(DescribeWorkerDeploymentRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
        var deployment = Deployments.Get(ns.Id, RequireName(request.DeploymentName));
        return Task.FromResult(new DescribeWorkerDeploymentResponse
        {
            ConflictToken = ByteString.CopyFrom(WorkerDeploymentRegistry.ConflictToken(deployment)),
            WorkerDeploymentInfo = WorkerDeploymentProtos.Info(deployment),
        });
    }

    public Task<ListWorkerDeploymentsResponse> ListWorkerDeployments(ListWorkerDeploymentsRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
        var all = Deployments.List(ns.Id);
        var pageSize = request.PageSize is > 0 and <= 1000 ? request.PageSize : 1000;
        var after = request.NextPageToken.IsEmpty ? null : request.NextPageToken.ToStringUtf8();
        var page = all.Where(d => after is null || string.CompareOrdinal(d.Name, after) > 0).Take(pageSize + 1).ToList();
        var response = new ListWorkerDeploymentsResponse();
        foreach (var d in page.Take(pageSize))
        {
            var summary = new ListWorkerDeploymentsResponse.Types.WorkerDeploymentSummary
            {
                Name = d.Name,
                CreateTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.SpecifyKind(d.CreateTime, DateTimeKind.Utc)),
                RoutingConfig = WorkerDeploymentProtos.Routing(d),
            };
            if (d.Versions.MaxBy(v => v.CreateTime) is { } latest)
            {
                summary.LatestVersionSummary = WorkerDeploymentProtos.Summary(d, latest);
            }

            if (d.CurrentBuildId is { } current && d.Find(current) is { } currentVersion)
            {
                summary.CurrentVersionSummary = WorkerDeploymentProtos.Summary(d, currentVersion);
            }

            if (d is { HasRamping: true, RampingBuildId: { } ramping } && d.Find(ramping) is { } rampingVersion)
            {
                summary.RampingVersionSummary = WorkerDeploymentProtos.Summary(d, rampingVersion);
            }

            response.WorkerDeployments.Add(summary);
        }

        if (page.Count > pageSize)
        {
            response.NextPageToken = ByteString.CopyFromUtf8(page[pageSize - 1].Name);
        }

        return Task.FromResult(response);
    }

    public Task<DescribeWorkerDeploymentVersionResponse> DescribeWorkerDeploymentVersion(DescribeWorkerDeploymentVersionRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
#pragma warning disable CS0612, CS0618 // The canonical string is the older form of the same request.
        var id = DeploymentVersionId.FromRequest(request.DeploymentVersion, request.Version, "version");
#pragma warning restore CS0612, CS0618
        var (deployment, version) = Deployments.GetVersion(ns.Id, id);
        var response = new DescribeWorkerDeploymentVersionResponse { WorkerDeploymentVersionInfo = WorkerDeploymentProtos.VersionInfo(deployment, version) };
        foreach (var queue in version.TaskQueues)
        {
            response.VersionTaskQueues.Add(new DescribeWorkerDeploymentVersionResponse.Types.VersionTaskQueue { Name = queue.Name, Type = (TaskQueueType)queue.Type });
        }

        return Task.FromResult(response);
    }

    public async Task<SetWorkerDeploymentCurrentVersionResponse> SetWorkerDeploymentCurrentVersion(SetWorkerDeploymentCurrentVersionRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
        var name = RequireName(request.DeploymentName);
#pragma warning disable CS0612, CS0618 // The canonical string is the older form of the same request.
        var buildId = TargetBuildId(name, request.BuildId, request.Version);
#pragma warning restore CS0612, CS0618
        var (token, previous) = await Deployments.SetCurrentAsync(ns.Id, name, buildId, Token(request.ConflictToken), request.Identity, request.AllowNoPollers).ConfigureAwait(false);
        var response = new SetWorkerDeploymentCurrentVersionResponse { ConflictToken = ByteString.CopyFrom(token) };
#pragma warning disable CS0612, CS0618
        response.PreviousVersion = previous is null ? DeploymentVersionId.Unversioned : $"{name}.{previous}";
        response.PreviousDeploymentVersion = previous is null ? null : new DeploymentVersionId(name, previous).ToProto();
#pragma warning restore CS0612, CS0618
        return response;
    }

    public async Task<SetWorkerDeploymentRampingVersionResponse> SetWorkerDeploymentRampingVersion(SetWorkerDeploymentRampingVersionRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
        var name = RequireName(request.DeploymentName);
#pragma warning disable CS0612, CS0618 // The canonical string is the older form of the same request.
        var ramp = request.BuildId.Length > 0 || request.Version.Length > 0;
        var buildId = ramp ? TargetBuildId(name, request.BuildId, request.Version) : null;
#pragma warning restore CS0612, CS0618
        var (token, previous, previousPercentage) = await Deployments.SetRampingAsync(
            ns.Id, name, ramp, buildId, request.Percentage, Token(request.ConflictToken), request.Identity, request.AllowNoPollers).ConfigureAwait(false);
        var response = new SetWorkerDeploymentRampingVersionResponse { ConflictToken = ByteString.CopyFrom(token) };
#pragma warning disable CS0612, CS0618
        response.PreviousVersion = previous is null ? string.Empty : $"{name}.{previous}";
        response.PreviousDeploymentVersion = previous is null ? null : new DeploymentVersionId(name, previous).ToProto();
        response.PreviousPercentage = previousPercentage;
#pragma warning restore CS0612, CS0618
        return response;
    }

    public async Task<SetWorkerDeploymentManagerResponse> SetWorkerDeploymentManager(SetWorkerDeploymentManagerRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
        var name = RequireName(request.DeploymentName);
        var manager = request.NewManagerIdentityCase switch
        {
            SetWorkerDeploymentManagerRequest.NewManagerIdentityOneofCase.Self => request.Self
                ? request.Identity
                : throw ServiceException.InvalidArgument("self must be true when it is set"),
            SetWorkerDeploymentManagerRequest.NewManagerIdentityOneofCase.ManagerIdentity => request.ManagerIdentity,
            _ => throw ServiceException.InvalidArgument("one of manager_identity or self is required"),
        };
        var (token, previous) = await Deployments.SetManagerAsync(ns.Id, name, manager, Token(request.ConflictToken), request.Identity).ConfigureAwait(false);
        var response = new SetWorkerDeploymentManagerResponse { ConflictToken = ByteString.CopyFrom(token) };
#pragma warning disable CS0612, CS0618 // Deprecated, but still read by older clients.
        response.PreviousManagerIdentity = previous;
#pragma warning restore CS0612, CS0618
        return response;
    }

    public async Task<UpdateWorkerDeploymentVersionMetadataResponse> UpdateWorkerDeploymentVersionMetadata(UpdateWorkerDeploymentVersionMetadataRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
#pragma warning disable CS0612, CS0618 // The canonical string is the older form of the same request.
        var id = DeploymentVersionId.FromRequest(request.DeploymentVersion, request.Version, "version");
#pragma warning restore CS0612, CS0618
        var upserts = request.UpsertEntries.ToDictionary(e => e.Key, e => e.Value.ToByteArray(), StringComparer.Ordinal);
        Validation.RequireSize(request, "UpsertEntries", options.MaxPayloadBytes);
        var metadata = await Deployments.UpdateMetadataAsync(ns.Id, id, upserts, [.. request.RemoveEntries], request.Identity).ConfigureAwait(false);
        return new UpdateWorkerDeploymentVersionMetadataResponse { Metadata = WorkerDeploymentProtos.Metadata(metadata) };
    }

    public async Task<DeleteWorkerDeploymentVersionResponse> DeleteWorkerDeploymentVersion(DeleteWorkerDeploymentVersionRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
#pragma warning disable CS0612, CS0618 // The canonical string is the older form of the same request.
        var id = DeploymentVersionId.FromRequest(request.DeploymentVersion, request.Version, "version");
#pragma warning restore CS0612, CS0618
        await Deployments.DeleteVersionAsync(ns.Id, id, request.SkipDrainage, request.Identity, queues => queues.Any(q =>
            engine.Matching.HeldQueues(ns.Id, q.Name).Any(k => k.Version == id.Canonical && engine.Matching.HasRecentPoller(k, MatchingEngine.PollerWindow))))
            .ConfigureAwait(false);
        return new DeleteWorkerDeploymentVersionResponse();
    }

    public async Task<DeleteWorkerDeploymentResponse> DeleteWorkerDeployment(DeleteWorkerDeploymentRequest request, ServerCallContext context)
    {
        RequireDeploymentVersions();
        var ns = NamespaceOf(context);
        await Deployments.DeleteAsync(ns.Id, RequireName(request.DeploymentName), request.Identity).ConfigureAwait(false);
        return new DeleteWorkerDeploymentResponse();
    }

    public async Task<CreateWorkerDeploymentResponse> CreateWorkerDeployment(CreateWorkerDeploymentRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        if (request.DeploymentName.Length == 0)
        {
            throw ServiceException.InvalidArgument("deployment name cannot be empty");
        }

        RequireDeploymentVersions();
        var token = await Deployments.CreateAsync(ns.Id, request.DeploymentName, request.Identity, RequestIdOrNew(request.RequestId)).ConfigureAwait(false);
        return new CreateWorkerDeploymentResponse { ConflictToken = ByteString.CopyFrom(token) };
    }

    public async Task<CreateWorkerDeploymentVersionResponse> CreateWorkerDeploymentVersion(CreateWorkerDeploymentVersionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var version = RequireVersion(request.DeploymentVersion);
        RequireDeploymentVersions();
        var groups = request.ComputeConfig?.ScalingGroups.ToDictionary(g => g.Key, g => g.Value, StringComparer.Ordinal) ?? [];
        await Deployments.CreateVersionAsync(ns.Id, version, request.Identity, RequestIdOrNew(request.RequestId), () => ComputeConfigs.Check(groups)).ConfigureAwait(false);
        return new CreateWorkerDeploymentVersionResponse();
    }

    /// <summary>Upserts are refused by <see cref="ComputeConfigs"/>; removals succeed (no version has a group to remove).</summary>
    public Task<UpdateWorkerDeploymentVersionComputeConfigResponse> UpdateWorkerDeploymentVersionComputeConfig(UpdateWorkerDeploymentVersionComputeConfigRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var version = RequireVersion(request.DeploymentVersion);
        RequireDeploymentVersions();
        if (!Deployments.HasVersion(ns.Id, version))
        {
            throw ServiceException.NotFound($"build ID '{version.BuildId}' not found in Worker Deployment '{version.DeploymentName}'");
        }

        ComputeConfigs.Check(ComputeConfigs.Upserts(request.ComputeConfigScalingGroups));
        return Task.FromResult(new UpdateWorkerDeploymentVersionComputeConfigResponse());
    }

    public Task<ValidateWorkerDeploymentVersionComputeConfigResponse> ValidateWorkerDeploymentVersionComputeConfig(ValidateWorkerDeploymentVersionComputeConfigRequest request, ServerCallContext context)
    {
        _ = NamespaceOf(context);
        RequireDeploymentVersions();
        ComputeConfigs.Check(ComputeConfigs.Upserts(request.ComputeConfigScalingGroups));
        return Task.FromResult(new ValidateWorkerDeploymentVersionComputeConfigResponse());
    }

    public async Task<UpdateWorkflowExecutionOptionsResponse> UpdateWorkflowExecutionOptions(UpdateWorkflowExecutionOptionsRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = await engine.ResolveAsync(ns.Id, Validation.RequireId(request.WorkflowExecution?.WorkflowId, "WorkflowId"), request.WorkflowExecution?.RunId).ConfigureAwait(false);
        return await engine.UpdateWorkflowExecutionOptionsAsync(key, request).ConfigureAwait(false);
    }

    /// <summary>
    /// A poll's version sub-queue: a versioned worker's polls wait on its version's (which they register, so the
    /// version appears on its first poll), anyone else's on the unversioned one.
    /// </summary>
    private async Task<QueueKey> RegisterVersionedPoller(QueueKey queue, Temporalio.Api.Deployment.V1.WorkerDeploymentOptions? deployment, string identity)
    {
        if (deployment is not { WorkerVersioningMode: WorkerVersioningMode.Versioned })
        {
            return queue;
        }

        var version = new DeploymentVersionId(deployment.DeploymentName, deployment.BuildId);
        await Deployments.RegisterPollerAsync(queue.NamespaceId, version, queue.Name, queue.Type == TaskCategory.Activity ? TaskQueueType.Activity : TaskQueueType.Workflow, identity)
            .ConfigureAwait(false);
        return queue with { Version = version.Canonical };
    }

    /// <summary>The build id a Set* request names in its deployment (null: unversioned workers), from build_id or the older canonical string.</summary>
    private static string? TargetBuildId(string deploymentName, string buildId, string version)
    {
        if (buildId.Length > 0)
        {
            DeploymentVersionId.Validate(buildId, "build_id");
            return buildId;
        }

        if (version.Length == 0 || version == DeploymentVersionId.Unversioned)
        {
            return null;
        }

        var parsed = DeploymentVersionId.Parse(version, "version");
        return parsed.DeploymentName == deploymentName
            ? parsed.BuildId
            : throw ServiceException.InvalidArgument($"version {ServiceException.Quote(version, 200)} is not in deployment {ServiceException.Quote(deploymentName, 200)}");
    }

    /// <summary>Temporal's refusal while <c>system.enableDeploymentVersions</c> is off.</summary>
    private void RequireDeploymentVersions()
    {
        if (!options.EnableDeploymentVersions)
        {
            throw new ServiceException(ErrorKind.PermissionDenied, "Worker Deployment Versions are disabled on this namespace.");
        }
    }

    /// <summary>A create or compute-config request's version, with Temporal's texts for a missing part.</summary>
    private static DeploymentVersionId RequireVersion(Temporalio.Api.Deployment.V1.WorkerDeploymentVersion? version)
    {
        if (string.IsNullOrEmpty(version?.DeploymentName))
        {
            throw ServiceException.InvalidArgument("deployment name cannot be empty");
        }

        return string.IsNullOrEmpty(version.BuildId)
            ? throw ServiceException.InvalidArgument("build ID cannot be empty")
            : new DeploymentVersionId(version.DeploymentName, version.BuildId);
    }

    /// <summary>A request id, or a new one when the caller sent none (Temporal's rule: then every call is a new request).</summary>
    private static string RequestIdOrNew(string requestId) => requestId.Length > 0 ? requestId : Guid.NewGuid().ToString();

    private static string RequireName(string name)
    {
        DeploymentVersionId.Validate(name, "deployment_name");
        return name;
    }

    private static byte[]? Token(ByteString token) => token.IsEmpty ? null : token.ToByteArray();
}
