using Bastion.Server;
using Temporalio.Api.Compute.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>
/// Explicit creation of worker deployments and versions, compute config, and the retired versioning APIs, each
/// answered as Temporal's current server answers it (issue 21).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class WorkerDeploymentCreationTests(ServerFixture fixture)
{
    private TemporalClient Client => fixture.Client;

    private string Ns => Client.Options.Namespace;

    private static string NewName() => "dep-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task CreateWorkerDeployment_IsIdempotentByRequestId_AndAnotherRequestIsAlreadyExists()
    {
        var name = NewName();
        var created = await Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name, Identity = "ops", RequestId = "r1" });
        var described = await Client.WorkflowService.DescribeWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name });
        Assert.Equal(described.ConflictToken, created.ConflictToken);
        Assert.Empty(described.WorkerDeploymentInfo.VersionSummaries);

        var again = await Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name, Identity = "ops", RequestId = "r1" });
        Assert.Equal(created.ConflictToken, again.ConflictToken);

        var other = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name, RequestId = "r2" }));
        Assert.Equal(RpcException.StatusCode.AlreadyExists, other.Code);
        Assert.Equal($"Worker Deployment with name \"{name}\" already exists", other.Message);

        var empty = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, empty.Code);
        Assert.Equal("deployment name cannot be empty", empty.Message);
    }

    /// <summary>A deployment deleted and made again under its name does not take the tokens of the one before.</summary>
    [Fact]
    public async Task ADeploymentMadeAgain_RefusesTheTokenOfTheOneBefore()
    {
        var name = NewName();
        var first = await Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name, Identity = "ops", RequestId = "r1" });
        await Client.WorkflowService.DeleteWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name, Identity = "ops" });
        var second = await Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name, Identity = "ops", RequestId = "r2" });
        Assert.NotEqual(first.ConflictToken, second.ConflictToken);

        var stale = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.SetWorkerDeploymentManagerAsync(new()
        {
            Namespace = Ns, DeploymentName = name, ManagerIdentity = "ops", ConflictToken = first.ConflictToken, Identity = "ops",
        }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, stale.Code);
    }

    [Fact]
    public async Task CreateWorkerDeployment_OfOneItsWorkersMade_SaysItWasAutoCreated()
    {
        var version = new Temporalio.Common.WorkerDeploymentVersion(NewName(), "1.0");
        using var worker = WorkerDeploymentTests.Worker(Client, ServerFixture.NewTaskQueue(), version, o => o.AddWorkflow<WorkerDeploymentTests.AutoV1>());
        await WorkerDeploymentTests.RunWorkersAsync([worker], async () =>
        {
            await WorkerDeploymentTests.WaitVisibleAsync(Client, version);
            var error = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = version.DeploymentName }));
            Assert.Equal(RpcException.StatusCode.AlreadyExists, error.Code);
            Assert.Equal($"Worker Deployment with name \"{version.DeploymentName}\" already exists (auto-created from worker polls)", error.Message);
        });
    }

    [Fact]
    public async Task CreateWorkerDeploymentVersion_NeedsItsDeployment_StartsCreated_AndConflictsAsTemporal()
    {
        var name = NewName();
        var version = new Temporalio.Api.Deployment.V1.WorkerDeploymentVersion { DeploymentName = name, BuildId = "b1" };
        var missing = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version }));
        Assert.Equal(RpcException.StatusCode.NotFound, missing.Code);
        Assert.Equal($"no Worker Deployment found with name '{name}'; does your Worker Deployment have pollers?", missing.Message);

        await Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name });
        await Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version, RequestId = "v1", Identity = "ops" });
        await Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version, RequestId = "v1", Identity = "ops" }); // the same request: no error

        var described = await Client.WorkflowService.DescribeWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version });
        Assert.Equal(WorkerDeploymentVersionStatus.Created, described.WorkerDeploymentVersionInfo.Status);

        var again = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version, RequestId = "v2" }));
        Assert.Equal(RpcException.StatusCode.AlreadyExists, again.Code);
        Assert.Equal($"Worker Deployment Version \"{name}.b1\" already exists", again.Message);

        var noBuild = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new()
        {
            Namespace = Ns, DeploymentVersion = new() { DeploymentName = name },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, noBuild.Code);
        Assert.Equal("build ID cannot be empty", noBuild.Message);
    }

    [Fact]
    public async Task ComputeConfig_IsCheckedByTemporalsRules_AndRefusedForWantOfProviders()
    {
        var name = NewName();
        await Client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = Ns, DeploymentName = name });
        var version = new Temporalio.Api.Deployment.V1.WorkerDeploymentVersion { DeploymentName = name, BuildId = "b1" };

        var lambda = new ComputeConfig();
        lambda.ScalingGroups["workers"] = Group("aws-lambda", TaskQueueType.Workflow);
        var refused = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version, ComputeConfig = lambda }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, refused.Code);
        Assert.StartsWith("Could not instantiate compute provider with type 'aws-lambda'", refused.Message, StringComparison.Ordinal);
        var notCreated = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.DescribeWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version }));
        Assert.Equal(RpcException.StatusCode.NotFound, notCreated.Code);

        var unknownProvider = new ValidateWorkerDeploymentVersionComputeConfigRequest { Namespace = Ns, DeploymentVersion = version };
        unknownProvider.ComputeConfigScalingGroups["g"] = new() { ScalingGroup = Group("mainframe") };
        var invalid = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.ValidateWorkerDeploymentVersionComputeConfigAsync(unknownProvider));
        Assert.Equal("entry g: invalid compute provider type 'mainframe'", invalid.Message);

        var twice = new ValidateWorkerDeploymentVersionComputeConfigRequest { Namespace = Ns, DeploymentVersion = version };
        twice.ComputeConfigScalingGroups["a"] = new() { ScalingGroup = Group("k8s", TaskQueueType.Activity) };
        twice.ComputeConfigScalingGroups["b"] = new() { ScalingGroup = Group("k8s", TaskQueueType.Activity) };
        var duplicate = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.ValidateWorkerDeploymentVersionComputeConfigAsync(twice));
        Assert.Equal("entry b: task type Activity appears in more than one entry", duplicate.Message);

        var updateMissing = new UpdateWorkerDeploymentVersionComputeConfigRequest { Namespace = Ns, DeploymentVersion = version };
        var noVersion = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.UpdateWorkerDeploymentVersionComputeConfigAsync(updateMissing));
        Assert.Equal(RpcException.StatusCode.NotFound, noVersion.Code);
        Assert.Equal($"build ID 'b1' not found in Worker Deployment '{name}'", noVersion.Message);

        await Client.WorkflowService.CreateWorkerDeploymentVersionAsync(new() { Namespace = Ns, DeploymentVersion = version });
        var removeOnly = new UpdateWorkerDeploymentVersionComputeConfigRequest { Namespace = Ns, DeploymentVersion = version };
        removeOnly.RemoveComputeConfigScalingGroups.Add("workers");
        await Client.WorkflowService.UpdateWorkerDeploymentVersionComputeConfigAsync(removeOnly); // nothing to remove: accepted

        var upsert = new UpdateWorkerDeploymentVersionComputeConfigRequest { Namespace = Ns, DeploymentVersion = version };
        upsert.ComputeConfigScalingGroups["workers"] = new() { ScalingGroup = Group("aws-ecs") };
        var upserted = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.UpdateWorkerDeploymentVersionComputeConfigAsync(upsert));
        Assert.StartsWith("Could not instantiate compute provider with type 'aws-ecs'", upserted.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetiredVersioningApis_AnswerAsTemporal_ByDefault()
    {
        var retired = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.DescribeDeploymentAsync(new() { Namespace = Ns }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, retired.Code);
        Assert.Equal("Deployments are deprecated and no longer supported, use Worker Deployments instead", retired.Message);
        await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.ListDeploymentsAsync(new() { Namespace = Ns }));

        var buildIds = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.GetWorkerBuildIdCompatibilityAsync(new() { Namespace = Ns, TaskQueue = "q" }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, buildIds.Code);
        Assert.Equal("Worker versioning v0.1 (Version Set-based, deprecated) is disabled on this namespace.", buildIds.Message);

        var rules = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.GetWorkerVersioningRulesAsync(new() { Namespace = Ns, TaskQueue = "q" }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, rules.Code);
        Assert.Equal("Worker versioning v0.2 (Rules-based, deprecated) is disabled on this namespace.", rules.Message);

        var reachability = await Assert.ThrowsAsync<RpcException>(() => Client.WorkflowService.GetWorkerTaskReachabilityAsync(new() { Namespace = Ns }));
        Assert.Equal("Worker versioning v0.2 (Rules-based, deprecated) is disabled on this namespace.", reachability.Message);
    }

    [Fact]
    public async Task DynamicConfig_TurnsTheVersioningApisOnAndOff()
    {
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.DynamicConfig["frontend.workerVersioningDataAPIs"] = "true";
        options.DynamicConfig["system.enableDeploymentVersions"] = "false";
        await using var server = await BastionServer.StartAsync(options);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });

        // On, the SDKs' probe learns that this server has no version sets (they skip on UNIMPLEMENTED).
        var buildIds = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.UpdateWorkerBuildIdCompatibilityAsync(new()
        {
            Namespace = "default", TaskQueue = "q", AddNewBuildIdInNewDefaultSet = "b1",
        }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, buildIds.Code);

        var off = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.CreateWorkerDeploymentAsync(new() { Namespace = "default", DeploymentName = "d" }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, off.Code);
        Assert.Equal("Worker Deployment Versions are disabled on this namespace.", off.Message);
        var list = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.ListWorkerDeploymentsAsync(new() { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, list.Code);
    }

    private static ComputeConfigScalingGroup Group(string provider, params TaskQueueType[] types)
    {
        var group = new ComputeConfigScalingGroup { Provider = new ComputeProvider { Type = provider } };
        group.TaskQueueTypes.Add(types);
        return group;
    }
}
