using Bastion.Server;
using Bastion.Tests.Storage.Postgres;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// The official SDK against a real <see cref="BastionServer"/> on PostgreSQL (encrypted at rest): a workflow with an
/// activity and a timer runs to its result, its history is whole, and the list finds it.
/// </summary>
public sealed class PostgresWorkflowTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-pg-" + Guid.NewGuid().ToString("N"));
    private BastionServer? _server;

    [Workflow]
    public sealed class GreetAfterTimer
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string name)
        {
            var greeting = await Workflow.ExecuteActivityAsync(() => Greeter.Greet(name), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });
            await Workflow.DelayAsync(TimeSpan.FromSeconds(1));
            return greeting + "!";
        }
    }

    public static class Greeter
    {
        [Activity]
        public static string Greet(string name) => $"Hello, {name}";
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _server = await BastionServer.StartAsync(new ServerOptions
        {
            Port = 0,
            DatabaseUrl = database.Url,
            MasterKeyFile = Path.Combine(_directory, "master-key"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
    }

    [Fact]
    public async Task AWorkflowWithAnActivityAndATimer_RunsToItsResult_OnPostgres()
    {
        var client = await TemporalClient.ConnectAsync(new(_server!.Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<GreetAfterTimer>().AddAllActivities(typeof(Greeter), null));
        var workflowId = "pg-greet-" + Guid.NewGuid();

        var result = await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync(
            (GreetAfterTimer wf) => wf.RunAsync("Postgres"), new(workflowId, taskQueue)).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal("Hello, Postgres!", result);
        var handle = client.GetWorkflowHandle(workflowId);
        var events = (await handle.FetchHistoryAsync()).Events.ToList();
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.EventId));
        Assert.Equal(EventType.WorkflowExecutionStarted, events[0].EventType);
        Assert.Single(events, e => e.EventType == EventType.ActivityTaskCompleted);
        Assert.Single(events, e => e.EventType == EventType.TimerFired);
        Assert.Equal(EventType.WorkflowExecutionCompleted, events[^1].EventType);
        Assert.Equal(WorkflowExecutionStatus.Completed, (await handle.DescribeAsync()).Status);

        var listed = new List<string>();
        await foreach (var execution in client.ListWorkflowsAsync($"WorkflowId = '{workflowId}' AND ExecutionStatus = 'Completed'"))
        {
            listed.Add(execution.Id);
        }

        Assert.Equal([workflowId], listed);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }
}
