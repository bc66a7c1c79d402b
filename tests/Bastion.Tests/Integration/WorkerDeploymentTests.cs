using Bastion.Engine.Deployments;
using Google.Protobuf;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;
using VersioningBehavior = Temporalio.Common.VersioningBehavior;

namespace Bastion.Tests.Integration;

/// <summary>
/// Worker deployments and versioning with the official SDK (issue 21): versions appear when versioned workers poll;
/// pinned runs stay on their version while auto-upgrade runs follow the current one; a ramp splits new runs by
/// workflow id; an override pins a run; describe shows the versioning; bad calls get precise statuses.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class WorkerDeploymentTests(ServerFixture fixture)
{
    private TemporalClient Client => fixture.Client;

    [Workflow("VersionedPinned", VersioningBehavior = VersioningBehavior.Pinned)]
    public sealed class PinnedV1
    {
        private bool _finish;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _finish);
            return "v1";
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }
    }

    [Workflow("VersionedPinned", VersioningBehavior = VersioningBehavior.Pinned)]
    public sealed class PinnedV2
    {
        private bool _finish;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _finish);
            return "v2";
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }
    }

    [Workflow("VersionedAuto", VersioningBehavior = VersioningBehavior.AutoUpgrade)]
    public sealed class AutoV1
    {
        private bool _finish;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _finish);
            return "v1";
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }
    }

    [Workflow("VersionedAuto", VersioningBehavior = VersioningBehavior.AutoUpgrade)]
    public sealed class AutoV2
    {
        private bool _finish;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _finish);
            return "v2";
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }
    }

    [Workflow("VersionedAuto")]
    public sealed class AutoUnversioned
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Task.FromResult("unversioned");
    }

    [Fact]
    public async Task PinnedRun_StaysOnItsVersion_WhileAutoUpgradeRun_MovesToTheNewCurrent()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var (v1, v2) = (new WorkerDeploymentVersion(name, "1.0"), new WorkerDeploymentVersion(name, "2.0"));
        var queue = ServerFixture.NewTaskQueue();
        using var w1 = Worker(queue, v1, o => o.AddWorkflow<PinnedV1>().AddWorkflow<AutoV1>());
        using var w2 = Worker(queue, v2, o => o.AddWorkflow<PinnedV2>().AddWorkflow<AutoV2>());
        await RunWorkersAsync([w1, w2], async () =>
        {
            await SetCurrentAsync(v1);
            var pinned = await Client.StartWorkflowAsync((PinnedV1 wf) => wf.RunAsync(), new("pinned-" + Guid.NewGuid(), queue));
            var auto = await Client.StartWorkflowAsync((AutoV1 wf) => wf.RunAsync(), new("auto-" + Guid.NewGuid(), queue));
            await WaitForVersionAsync(pinned.Id, "1.0");
            await WaitForVersionAsync(auto.Id, "1.0");

            await SetCurrentAsync(v2);
            await pinned.SignalAsync(wf => wf.FinishAsync());
            await auto.SignalAsync("Finish", []);

            Assert.Equal("v1", await pinned.GetResultAsync());
            Assert.Equal("v2", await auto.GetResultAsync<string>());
            var info = Assert.IsType<Temporalio.Api.Workflow.V1.WorkflowExecutionVersioningInfo>(await VersioningInfoAsync(Client, pinned.Id));
            Assert.Equal(Temporalio.Api.Enums.V1.VersioningBehavior.Pinned, info.Behavior);
            Assert.Equal(("1.0", name), (info.DeploymentVersion.BuildId, info.DeploymentVersion.DeploymentName));
        });
    }

    [Fact]
    public async Task UnversionedWorkers_GetTheWork_UntilAVersionIsCurrent()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var v1 = new WorkerDeploymentVersion(name, "1.0");
        var queue = ServerFixture.NewTaskQueue();
        using var versioned = Worker(queue, v1, o => o.AddWorkflow<AutoV1>());
        using var unversioned = new TemporalWorker(Client, new TemporalWorkerOptions(queue).AddWorkflow<AutoUnversioned>());
        await RunWorkersAsync([versioned, unversioned], async () =>
        {
            await WaitVisibleAsync(v1);
            var first = await Client.StartWorkflowAsync((AutoUnversioned wf) => wf.RunAsync(), new("unv-" + Guid.NewGuid(), queue));
            Assert.Equal("unversioned", await first.GetResultAsync());

            await SetCurrentAsync(v1);
            var second = await Client.StartWorkflowAsync((AutoV1 wf) => wf.RunAsync(), new("ver-" + Guid.NewGuid(), queue));
            await WaitForVersionAsync(second.Id, "1.0");
            await second.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal("v1", await second.GetResultAsync());
        });
    }

    [Fact]
    public async Task Ramp_SendsEachWorkflowId_ToTheSideItsHashFallsOn()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var (v1, v2) = (new WorkerDeploymentVersion(name, "1.0"), new WorkerDeploymentVersion(name, "2.0"));
        var queue = ServerFixture.NewTaskQueue();
        using var w1 = Worker(queue, v1, o => o.AddWorkflow<AutoV1>());
        using var w2 = Worker(queue, v2, o => o.AddWorkflow<AutoV2>());
        await RunWorkersAsync([w1, w2], async () =>
        {
            await SetCurrentAsync(v1);
            var token = (await DescribeAsync(name)).ConflictToken;
            await WaitVisibleAsync(v2);
            var ramped = await Client.WorkflowService.SetWorkerDeploymentRampingVersionAsync(new()
            {
                Namespace = Client.Options.Namespace, DeploymentName = name, BuildId = "2.0", Percentage = 30, ConflictToken = token, Identity = "test",
            });
            Assert.NotEqual(token, ramped.ConflictToken);

            // Ids on each side of the 30 % line, picked by the same hash the server uses: the split is exact, not statistical.
            var ids = Enumerable.Range(0, 200).Select(i => $"ramp-{name}-{i}").ToList();
            var below = ids.Where(id => DeploymentRouting.RampPlace(id) < 30).Take(3).ToList();
            var above = ids.Where(id => DeploymentRouting.RampPlace(id) >= 30).Take(3).ToList();
            foreach (var (id, expected) in below.Select(id => (id, "v2")).Concat(above.Select(id => (id, "v1"))))
            {
                var handle = await Client.StartWorkflowAsync((AutoV1 wf) => wf.RunAsync(), new(id, queue));
                await handle.SignalAsync(wf => wf.FinishAsync());
                Assert.Equal(expected, await handle.GetResultAsync());
            }

            var info = (await DescribeAsync(name)).WorkerDeploymentInfo;
            Assert.Equal(("1.0", "2.0", 30f), (info.RoutingConfig.CurrentDeploymentVersion.BuildId, info.RoutingConfig.RampingDeploymentVersion.BuildId, info.RoutingConfig.RampingVersionPercentage));
            Assert.Equal(WorkerDeploymentVersionStatus.Ramping, info.VersionSummaries.Single(v => v.DeploymentVersion.BuildId == "2.0").Status);
        });
    }

    [Fact]
    public async Task Override_PinsARun_AndUpdateOptions_MovesItBackToTheCurrentVersion()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var (v1, v2) = (new WorkerDeploymentVersion(name, "1.0"), new WorkerDeploymentVersion(name, "2.0"));
        var queue = ServerFixture.NewTaskQueue();
        using var w1 = Worker(queue, v1, o => o.AddWorkflow<AutoV1>());
        using var w2 = Worker(queue, v2, o => o.AddWorkflow<AutoV2>());
        await RunWorkersAsync([w1, w2], async () =>
        {
            await WaitVisibleAsync(v1);
            await SetCurrentAsync(v2);
            var handle = await Client.StartWorkflowAsync(
                (AutoV1 wf) => wf.RunAsync(),
                new("override-" + Guid.NewGuid(), queue) { VersioningOverride = new VersioningOverride.Pinned(v1) });
            await WaitForVersionAsync(handle.Id, "1.0");
            var described = Assert.IsType<Temporalio.Api.Workflow.V1.WorkflowExecutionVersioningInfo>(await VersioningInfoAsync(Client, handle.Id));
            Assert.Equal("1.0", described.VersioningOverride.Pinned.Version.BuildId);

            var updated = await Client.WorkflowService.UpdateWorkflowExecutionOptionsAsync(new()
            {
                Namespace = Client.Options.Namespace,
                WorkflowExecution = new() { WorkflowId = handle.Id },
                WorkflowExecutionOptions = new() { VersioningOverride = new() { AutoUpgrade = true } },
                UpdateMask = new() { Paths = { "versioning_override" } },
                Identity = "test",
            });
            Assert.True(updated.WorkflowExecutionOptions.VersioningOverride.AutoUpgrade);

            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal("v2", await handle.GetResultAsync());
            var history = await handle.FetchHistoryAsync();
            // Written as Temporal writes it, so a worker replaying the history skips it.
            Assert.Contains(history.Events, e => e.WorkerMayIgnore && e.WorkflowExecutionOptionsUpdatedEventAttributes?.VersioningOverride?.AutoUpgrade == true);
        });
    }

    /// <summary>
    /// A conflict token changes with the routing (and the manager), as Temporal's does, not when another version's workers
    /// first poll: a token read before a new version registered still sets that version ramping (the SDK's suite's
    /// ContinueAsNew_WithRampingVersion test failed when its second worker registered after the token was read).
    /// </summary>
    [Fact]
    public async Task AToken_StaysGood_WhenAnotherVersionRegisters()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var (v1, v2) = (new WorkerDeploymentVersion(name, "1.0"), new WorkerDeploymentVersion(name, "2.0"));
        var queue = ServerFixture.NewTaskQueue();
        using var w1 = Worker(queue, v1, o => o.AddWorkflow<AutoV1>());
        await RunWorkersAsync([w1], async () =>
        {
            await SetCurrentAsync(v1);
            var token = (await DescribeAsync(name)).ConflictToken;
            using var w2 = Worker(queue, v2, o => o.AddWorkflow<AutoV2>());
            await w2.ExecuteAsync(async () =>
            {
                await WaitVisibleAsync(v2); // registered after the token was read
                var ramped = await Client.WorkflowService.SetWorkerDeploymentRampingVersionAsync(new()
                {
                    Namespace = Client.Options.Namespace, DeploymentName = name, BuildId = "2.0", Percentage = 10, ConflictToken = token, Identity = "test",
                });
                Assert.NotEqual(token, ramped.ConflictToken);
                Assert.Equal(ramped.ConflictToken, (await DescribeAsync(name)).ConflictToken);
            });
        });
    }

    [Fact]
    public async Task DeploymentCalls_AnswerTemporalsStatuses_ForStaleTokensMissingVersionsAndBadInput()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var v1 = new WorkerDeploymentVersion(name, "1.0");
        var queue = ServerFixture.NewTaskQueue();
        using var w1 = Worker(queue, v1, o => o.AddWorkflow<AutoV1>());
        await RunWorkersAsync([w1], async () =>
        {
            var stale = (await WaitVisibleAsync(v1)).ConflictToken;
            await SetCurrentAsync(v1);
            var service = Client.WorkflowService;
            var ns = Client.Options.Namespace;

            var conflict = await Assert.ThrowsAsync<RpcException>(() => service.SetWorkerDeploymentRampingVersionAsync(new()
            {
                Namespace = ns, DeploymentName = name, BuildId = "1.0", Percentage = 10, ConflictToken = stale,
            }));
            Assert.Equal(RpcException.StatusCode.FailedPrecondition, conflict.Code);

            var missing = await Assert.ThrowsAsync<RpcException>(() => service.SetWorkerDeploymentCurrentVersionAsync(new() { Namespace = ns, DeploymentName = name, BuildId = "9.9" }));
            Assert.Equal(RpcException.StatusCode.NotFound, missing.Code);

            var badPercentage = await Assert.ThrowsAsync<RpcException>(() => service.SetWorkerDeploymentRampingVersionAsync(new()
            {
                Namespace = ns, DeploymentName = name, BuildId = "2.0", Percentage = 101,
            }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, badPercentage.Code);

            var current = await Assert.ThrowsAsync<RpcException>(() => service.DeleteWorkerDeploymentVersionAsync(new()
            {
                Namespace = ns, DeploymentVersion = new() { DeploymentName = name, BuildId = "1.0" },
            }));
            Assert.Equal(RpcException.StatusCode.FailedPrecondition, current.Code);

            var hasVersions = await Assert.ThrowsAsync<RpcException>(() => service.DeleteWorkerDeploymentAsync(new() { Namespace = ns, DeploymentName = name }));
            Assert.Equal(RpcException.StatusCode.FailedPrecondition, hasVersions.Code);

            var noDeployment = await Assert.ThrowsAsync<RpcException>(() => service.DescribeWorkerDeploymentAsync(new() { Namespace = ns, DeploymentName = "absent-" + name }));
            Assert.Equal(RpcException.StatusCode.NotFound, noDeployment.Code);

            var metadata = await service.UpdateWorkerDeploymentVersionMetadataAsync(new()
            {
                Namespace = ns,
                DeploymentVersion = new() { DeploymentName = name, BuildId = "1.0" },
                UpsertEntries = { ["owner"] = new Temporalio.Api.Common.V1.Payload { Data = ByteString.CopyFromUtf8("\"team-a\"") } },
            });
            Assert.Equal("\"team-a\"", metadata.Metadata.Entries["owner"].Data.ToStringUtf8());
            var version = await service.DescribeWorkerDeploymentVersionAsync(new() { Namespace = ns, DeploymentVersion = new() { DeploymentName = name, BuildId = "1.0" } });
            Assert.Equal(WorkerDeploymentVersionStatus.Current, version.WorkerDeploymentVersionInfo.Status);
            Assert.Contains(version.VersionTaskQueues, q => q.Name == queue && q.Type == TaskQueueType.Workflow);
            Assert.Equal("\"team-a\"", version.WorkerDeploymentVersionInfo.Metadata.Entries["owner"].Data.ToStringUtf8());

            var listed = await service.ListWorkerDeploymentsAsync(new() { Namespace = ns });
            Assert.Contains(listed.WorkerDeployments, d => d.Name == name && d.CurrentVersionSummary.DeploymentVersion.BuildId == "1.0");

            // Another namespace sees none of it.
            var other = await Assert.ThrowsAsync<RpcException>(() => service.DescribeWorkerDeploymentAsync(new() { Namespace = "other", DeploymentName = name }));
            Assert.Equal(RpcException.StatusCode.NotFound, other.Code);
        });
    }

    [Fact]
    public async Task Manager_OnlyTheManagerChangesRouting()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var v1 = new WorkerDeploymentVersion(name, "1.0");
        var queue = ServerFixture.NewTaskQueue();
        using var w1 = Worker(queue, v1, o => o.AddWorkflow<AutoV1>());
        await RunWorkersAsync([w1], async () =>
        {
            await WaitVisibleAsync(v1);
            var service = Client.WorkflowService;
            var ns = Client.Options.Namespace;
            await service.SetWorkerDeploymentManagerAsync(new() { Namespace = ns, DeploymentName = name, Self = true, Identity = "controller" });
            var refused = await Assert.ThrowsAsync<RpcException>(() => service.SetWorkerDeploymentCurrentVersionAsync(new() { Namespace = ns, DeploymentName = name, BuildId = "1.0", Identity = "someone" }));
            Assert.Equal(RpcException.StatusCode.FailedPrecondition, refused.Code);
            await service.SetWorkerDeploymentCurrentVersionAsync(new() { Namespace = ns, DeploymentName = name, BuildId = "1.0", Identity = "controller" });
            Assert.Equal("controller", (await DescribeAsync(name)).WorkerDeploymentInfo.ManagerIdentity);
        });
    }

    internal static TemporalWorker Worker(TemporalClient client, string queue, WorkerDeploymentVersion version, Action<TemporalWorkerOptions> configure)
    {
        var options = new TemporalWorkerOptions(queue) { DeploymentOptions = new(version, true) };
        configure(options);
        return new TemporalWorker(client, options);
    }

    private TemporalWorker Worker(string queue, WorkerDeploymentVersion version, Action<TemporalWorkerOptions> configure) => Worker(Client, queue, version, configure);

    /// <summary>Runs the workers until <paramref name="body"/> ends (bounded, so a stuck workflow fails the test).</summary>
    internal static Task RunWorkersAsync(IReadOnlyList<TemporalWorker> workers, Func<Task> body)
    {
        var test = body().WaitAsync(TimeSpan.FromSeconds(90));
        return Task.WhenAll(workers.Select(w => w.ExecuteAsync(() => test)));
    }

    private Task<Temporalio.Api.WorkflowService.V1.DescribeWorkerDeploymentResponse> DescribeAsync(string name) =>
        Client.WorkflowService.DescribeWorkerDeploymentAsync(new() { Namespace = Client.Options.Namespace, DeploymentName = name });

    private Task<Temporalio.Api.WorkflowService.V1.DescribeWorkerDeploymentResponse> WaitVisibleAsync(WorkerDeploymentVersion version) => WaitVisibleAsync(Client, version);

    /// <summary>The deployment once the version's workers have polled (their first poll registers it).</summary>
    internal static async Task<Temporalio.Api.WorkflowService.V1.DescribeWorkerDeploymentResponse> WaitVisibleAsync(TemporalClient client, WorkerDeploymentVersion version)
    {
        Temporalio.Api.WorkflowService.V1.DescribeWorkerDeploymentResponse? seen = null;
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            try
            {
                seen = await client.WorkflowService.DescribeWorkerDeploymentAsync(new() { Namespace = client.Options.Namespace, DeploymentName = version.DeploymentName });
                return seen.WorkerDeploymentInfo.VersionSummaries.Any(v => v.DeploymentVersion.BuildId == version.BuildId);
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                return false;
            }
        }));
        return seen!;
    }

    private Task SetCurrentAsync(WorkerDeploymentVersion version) => SetCurrentAsync(Client, version);

    internal static async Task SetCurrentAsync(TemporalClient client, WorkerDeploymentVersion version)
    {
        var token = (await WaitVisibleAsync(client, version)).ConflictToken;
        await client.WorkflowService.SetWorkerDeploymentCurrentVersionAsync(new()
        {
            Namespace = client.Options.Namespace, DeploymentName = version.DeploymentName, BuildId = version.BuildId, ConflictToken = token, Identity = "test",
        });
    }

    private Task WaitForVersionAsync(string workflowId, string buildId) => WaitForVersionAsync(Client, workflowId, buildId);

    internal static async Task WaitForVersionAsync(TemporalClient client, string workflowId, string buildId) =>
        Assert.True(await Eventually.HoldsAsync(async () => (await VersioningInfoAsync(client, workflowId))?.DeploymentVersion?.BuildId == buildId));

    /// <summary>Describe's versioning info of the workflow's current run.</summary>
    internal static async Task<Temporalio.Api.Workflow.V1.WorkflowExecutionVersioningInfo?> VersioningInfoAsync(TemporalClient client, string workflowId) =>
        (await client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = client.Options.Namespace, Execution = new() { WorkflowId = workflowId },
        })).WorkflowExecutionInfo.VersioningInfo;
}
