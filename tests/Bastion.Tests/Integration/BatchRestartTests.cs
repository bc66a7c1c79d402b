using Bastion.Server;
using Microsoft.Data.Sqlite;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace Bastion.Tests.Integration;

/// <summary>A batch interrupted by a server restart resumes from its cursor on the same file and applies nothing twice.</summary>
public sealed class BatchRestartTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-batch-" + Guid.NewGuid().ToString("N"));
    private BastionServer? _server;
    private TemporalClient _client = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        await StartServerAsync();
    }

    private async Task StartServerAsync()
    {
        _server = await BastionServer.StartAsync(new ServerOptions
        {
            Port = 0,
            DatabaseFile = Path.Combine(_directory, "bastion.db"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        _client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(_server.Address) { Namespace = "default" });
    }

    public async Task DisposeAsync()
    {
        if (_server != null)
        {
            await _server.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task SignalBatch_InterruptedByRestart_Finishes_SignallingEachRunOnce()
    {
        var ids = await BatchOperationTests.StartIdleAsync(_client.WorkflowService, "default", "BatchRestart", 8);
        await _client.WorkflowService.StartBatchOperationAsync(new()
        {
            Namespace = "default",
            JobId = "restart-job",
            Reason = "across a restart",
            VisibilityQuery = "WorkflowType = 'BatchRestart'",
            SignalOperation = new() { Signal = "Ping" },
            MaxOperationsPerSecond = 4,
        });

        for (var i = 0; i < 400; i++)
        {
            var progress = await _client.WorkflowService.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "restart-job" });
            if (progress.CompleteOperationCount >= 2)
            {
                break;
            }

            await Task.Delay(25);
        }

        await _server!.DisposeAsync();
        await StartServerAsync();
        var interrupted = await _client.WorkflowService.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "restart-job" });
        Assert.InRange(interrupted.CompleteOperationCount, 2, 7);

        var done = await BatchOperationTests.WaitDoneAsync(_client.WorkflowService, "default", "restart-job");
        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal(8, done.CompleteOperationCount + done.FailureOperationCount);
        Assert.Equal(0, done.FailureOperationCount);
        foreach (var id in ids)
        {
            var history = await _client.WorkflowService.GetWorkflowExecutionHistoryAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } });
            Assert.Single(history.History.Events, e => e.EventType == EventType.WorkflowExecutionSignaled);
        }
    }
}
