using Temporalio.Common;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>Deployments, their routing and a run's pinned version survive a restart on the same file.</summary>
public sealed class WorkerDeploymentRestartTests : IAsyncLifetime
{
    private readonly FileServer _server = new();

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    [Fact]
    public async Task Routing_AndAPinnedRun_SurviveARestart()
    {
        var name = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var (v1, v2) = (new WorkerDeploymentVersion(name, "1.0"), new WorkerDeploymentVersion(name, "2.0"));
        var queue = ServerFixture.NewTaskQueue();
        string workflowId = "restart-pinned-" + Guid.NewGuid();
        using (var w1 = WorkerDeploymentTests.Worker(_server.Client, queue, v1, o => o.AddWorkflow<WorkerDeploymentTests.PinnedV1>()))
        {
            await WorkerDeploymentTests.RunWorkersAsync([w1], async () =>
            {
                await WorkerDeploymentTests.SetCurrentAsync(_server.Client, v1);
                var handle = await _server.Client.StartWorkflowAsync((WorkerDeploymentTests.PinnedV1 wf) => wf.RunAsync(), new(workflowId, queue));
                await WorkerDeploymentTests.WaitForVersionAsync(_server.Client, handle.Id, "1.0");
            });
        }

        await _server.RestartAsync();

        var described = await _server.Service.DescribeWorkerDeploymentAsync(new() { Namespace = "default", DeploymentName = name });
        Assert.Equal("1.0", described.WorkerDeploymentInfo.RoutingConfig.CurrentDeploymentVersion.BuildId);

        // After the restart v2 becomes current; the pinned run still finishes on v1's workers.
        using var again1 = WorkerDeploymentTests.Worker(_server.Client, queue, v1, o => o.AddWorkflow<WorkerDeploymentTests.PinnedV1>());
        using var again2 = WorkerDeploymentTests.Worker(_server.Client, queue, v2, o => o.AddWorkflow<WorkerDeploymentTests.PinnedV2>());
        await WorkerDeploymentTests.RunWorkersAsync([again1, again2], async () =>
        {
            await WorkerDeploymentTests.SetCurrentAsync(_server.Client, v2);
            var handle = _server.Client.GetWorkflowHandle<WorkerDeploymentTests.PinnedV1>(workflowId);
            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal("v1", await handle.GetResultAsync<string>());
        });
    }
}
