using Temporalio.Activities;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class HelloWorkflowTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class HelloWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) => Task.FromResult($"Hello, {name}!");
    }

    [Workflow]
    public sealed class GreetingWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) =>
            Workflow.ExecuteActivityAsync(() => Greet(name, 3), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });

        [Activity]
        public static string Greet(string name, int times) => string.Join(" ", Enumerable.Repeat($"hi {name}", times));
    }

    [Fact]
    public async Task Workflow_WithoutActivities_ReturnsResult()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<HelloWorkflow>(), async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((HelloWorkflow wf) => wf.RunAsync("Bastion"), new("hello-" + Guid.NewGuid(), tq));
            Assert.Equal("Hello, Bastion!", result);
        });
    }

    [Fact]
    public async Task Workflow_WithActivityArguments_ReturnsActivityResult()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<GreetingWorkflow>().AddActivity(GreetingWorkflow.Greet), async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("ada"), new("greet-" + Guid.NewGuid(), tq));
            Assert.Equal("hi ada hi ada hi ada", result);
        });
    }
}
