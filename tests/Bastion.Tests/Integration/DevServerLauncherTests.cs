using Temporalio.Testing;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>The SDK's own test launcher starts Bastion as its dev server, with the arguments it passes to Temporal's.</summary>
public sealed class DevServerLauncherTests
{
    [Workflow]
    public sealed class EchoWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string value) => Task.FromResult(value);
    }

    [Fact]
    public async Task StartLocalAsync_WithBastionAsTheExistingPath_RunsWorkflows()
    {
        await using var env = await WorkflowEnvironment.StartLocalAsync(new()
        {
            DevServerOptions = new() { ExistingPath = Path.Combine(AppContext.BaseDirectory, "bastion"), LogLevel = "warn" },
        });
        var tq = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(env.Client, new TemporalWorkerOptions(tq).AddWorkflow<EchoWorkflow>());
        await worker.ExecuteAsync(async () =>
        {
            var result = await env.Client.ExecuteWorkflowAsync((EchoWorkflow wf) => wf.RunAsync("launched"), new("launch-" + Guid.NewGuid(), tq));
            Assert.Equal("launched", result);
        }).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
