using Temporalio.Testing;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// The SDK's own test launcher starts Bastion as its dev server, with the arguments it passes to Temporal's. The
/// launcher gives the server 5 s to accept connections (fixed in the SDK), so this runs alone, not while the other
/// collections load the machine.
/// </summary>
[Collection(AloneCollection.Name)]
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

/// <summary>Tests that must not share the machine with other tests (an external time limit they cannot change).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}
