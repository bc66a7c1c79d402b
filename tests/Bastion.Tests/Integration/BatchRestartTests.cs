using Temporalio.Api.Enums.V1;

namespace Bastion.Tests.Integration;

/// <summary>A batch interrupted by a server restart resumes from its cursor on the same file and applies nothing twice (or fails nothing).</summary>
public sealed class BatchRestartTests : IAsyncLifetime
{
    private readonly FileServer _server = new();

    private Temporalio.Client.WorkflowService Service => _server.Service;

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    /// <summary>Polls describe (bounded) until the job has applied at least <paramref name="count"/> operations.</summary>
    private async Task WaitProgressAsync(string jobId, int count)
    {
        for (var i = 0; i < 400; i++)
        {
            var progress = await Service.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = jobId });
            if (progress.CompleteOperationCount >= count)
            {
                return;
            }

            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task SignalBatch_InterruptedByRestart_Finishes_SignallingEachRunOnce()
    {
        var ids = await BatchOperationTests.StartIdleAsync(Service, "default", "BatchRestart", 8);
        await Service.StartBatchOperationAsync(new()
        {
            Namespace = "default",
            JobId = "restart-job",
            Reason = "across a restart",
            VisibilityQuery = "WorkflowType = 'BatchRestart'",
            SignalOperation = new() { Signal = "Ping" },
            MaxOperationsPerSecond = 4,
        });

        await WaitProgressAsync("restart-job", 2);
        await _server.RestartAsync();
        var interrupted = await Service.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "restart-job" });
        Assert.InRange(interrupted.CompleteOperationCount, 2, 7);

        var done = await BatchOperationTests.WaitDoneAsync(Service, "default", "restart-job");
        Assert.Equal(BatchOperationState.Completed, done.State);
        Assert.Equal(8, done.CompleteOperationCount + done.FailureOperationCount);
        Assert.Equal(0, done.FailureOperationCount);
        foreach (var id in ids)
        {
            var history = await Service.GetWorkflowExecutionHistoryAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } });
            Assert.Single(history.History.Events, e => e.EventType == EventType.WorkflowExecutionSignaled);
        }
    }

    [Fact]
    public async Task ActivityTerminateBatch_InterruptedByRestart_ResumesFromItsActivityCursor()
    {
        var activities = await BatchStandaloneActivityTests.StartIdleActivitiesAsync(Service, "default", "BatchRestartActivity", 8);
        await Service.StartBatchOperationAsync(new()
        {
            Namespace = "default",
            JobId = "restart-activities",
            Reason = "across a restart",
            VisibilityQuery = "ActivityType = 'BatchRestartActivity'",
            TerminateActivitiesOperation = new() { Reason = "across a restart" },
            MaxOperationsPerSecond = 4,
        });

        await WaitProgressAsync("restart-activities", 2);
        await _server.RestartAsync();
        var interrupted = await Service.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "restart-activities" });
        Assert.InRange(interrupted.CompleteOperationCount, 2, 7);

        var done = await BatchOperationTests.WaitDoneAsync(Service, "default", "restart-activities");
        Assert.Equal((BatchOperationState.Completed, 8L, 0L), (done.State, done.CompleteOperationCount, done.FailureOperationCount));
        foreach (var (id, _) in activities)
        {
            var described = await Service.DescribeActivityExecutionAsync(new() { Namespace = "default", ActivityId = id });
            Assert.Equal(ActivityExecutionStatus.Terminated, described.Info.Status);
        }
    }
}
