using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// The batch forms of reset, update workflow options and the activity operations (issue 21), each through the same
/// engine path as the single call, on workflows run by the SDK; describe shows each job's operation type.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class BatchResetAndOptionsTests(ServerFixture fixture)
{
    /// <summary>Schedules one activity on a queue no worker polls (so it stays pending), then waits for a signal.</summary>
    [Workflow]
    public sealed class HoldsAnActivity
    {
        private string? _value;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            _ = Workflow.ExecuteActivityAsync<string>(
                "Unpolled",
                [],
                new() { ActivityId = "held", TaskQueue = "nobody-polls-" + Workflow.Info.WorkflowId, StartToCloseTimeout = TimeSpan.FromMinutes(5) });
            await Workflow.WaitConditionAsync(() => _value != null);
            return _value!;
        }

        [WorkflowSignal]
        public Task NudgeAsync(string value)
        {
            _value = value;
            return Task.CompletedTask;
        }
    }

    private async Task<TemporalClient> NewNamespaceClientAsync()
    {
        var name = "batch2-" + Guid.NewGuid().ToString("N")[..10];
        await fixture.Client.WorkflowService.RegisterNamespaceAsync(new() { Namespace = name, WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        return await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = name });
    }

    private static async Task<Temporalio.Api.Workflow.V1.PendingActivityInfo?> PendingAsync(WorkflowHandle handle) =>
        (await handle.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = handle.Client.Options.Namespace,
            Execution = new() { WorkflowId = handle.Id },
        })).PendingActivities.FirstOrDefault();

    private static async Task RunAsync(TemporalClient client, Func<string, Task> test)
    {
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<HoldsAnActivity>());
        await worker.ExecuteAsync(() => test(taskQueue)).WaitAsync(TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task ResetByQuery_ResetsEachRunToItsFirstWorkflowTask()
    {
        var client = await NewNamespaceClientAsync();
        var ns = client.Options.Namespace;
        await RunAsync(client, async tq =>
        {
            var handles = new List<WorkflowHandle<HoldsAnActivity, string>>();
            for (var i = 0; i < 2; i++)
            {
                var handle = await client.StartWorkflowAsync((HoldsAnActivity wf) => wf.RunAsync(), new($"reset-{i}-{Guid.NewGuid():N}", tq));
                Assert.True(await Eventually.HoldsAsync(async () => await PendingAsync(handle) != null));
                handles.Add(handle);
            }

            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = ns,
                JobId = "reset-job",
                Reason = "bad deploy",
                VisibilityQuery = "WorkflowType = 'HoldsAnActivity'",
                ResetOperation = new() { Options = new ResetOptions { FirstWorkflowTask = new Empty() }, Identity = "batch-tester" },
            });
            var done = await BatchOperationTests.WaitDoneAsync(client.WorkflowService, ns, "reset-job");
            Assert.Equal((BatchOperationState.Completed, 2L, 0L), (done.State, done.CompleteOperationCount, done.FailureOperationCount));
#pragma warning disable CS0612 // The type Temporal's server reports for a reset batch.
            Assert.Equal(BatchOperationType.Reset, done.OperationType);
#pragma warning restore CS0612

            foreach (var handle in handles)
            {
                // The reset run replaced the original (terminated, naming the reset) and runs the workflow again.
                var original = await client.WorkflowService.DescribeWorkflowExecutionAsync(new() { Namespace = ns, Execution = new() { WorkflowId = handle.Id, RunId = handle.ResultRunId } });
                Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated, original.WorkflowExecutionInfo.Status);
                var current = client.GetWorkflowHandle<HoldsAnActivity>(handle.Id);
                var describedCurrent = await current.DescribeAsync();
                Assert.NotEqual(handle.ResultRunId, describedCurrent.RunId);
                await current.SignalAsync(wf => wf.NudgeAsync("after reset"));
                Assert.Equal("after reset", await current.GetResultAsync<string>());
            }
        });
    }

    [Fact]
    public async Task ActivityBatches_UpdateOptions_Unpause_AndReset_TheMatchingActivities()
    {
        var client = await NewNamespaceClientAsync();
        var ns = client.Options.Namespace;
        await RunAsync(client, async tq =>
        {
            var handle = await client.StartWorkflowAsync((HoldsAnActivity wf) => wf.RunAsync(), new("acts-" + Guid.NewGuid().ToString("N"), tq));
            Assert.True(await Eventually.HoldsAsync(async () => await PendingAsync(handle) != null));
            var target = new Execution { Type = ExecutionType.Workflow, BusinessId = handle.Id };

            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = ns,
                JobId = "options-job",
                Reason = "longer timeout",
                TargetExecutions = { target },
                UpdateActivityOptionsOperation = new()
                {
                    MatchAll = true,
                    ActivityOptions = new() { StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(42)) },
                    UpdateMask = new FieldMask { Paths = { "start_to_close_timeout" } },
                },
            });
            var options = await BatchOperationTests.WaitDoneAsync(client.WorkflowService, ns, "options-job");
            Assert.Equal((BatchOperationType.UpdateActivityOptions, 1L), (options.OperationType, options.CompleteOperationCount));
            Assert.Equal(TimeSpan.FromSeconds(42), (await PendingAsync(handle))!.ActivityOptions.StartToCloseTimeout.ToTimeSpan());

            await client.WorkflowService.PauseActivityAsync(new() { Namespace = ns, Execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id }, Id = "held" });
            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = ns,
                JobId = "reset-activities-job",
                Reason = "start over",
                TargetExecutions = { target },
                ResetActivitiesOperation = new() { Type = "Unpolled", KeepPaused = true },
            });
            var reset = await BatchOperationTests.WaitDoneAsync(client.WorkflowService, ns, "reset-activities-job");
            Assert.Equal((BatchOperationType.ResetActivity, 1L), (reset.OperationType, reset.CompleteOperationCount));
            Assert.Equal((PendingActivityState.Paused, 1), ((await PendingAsync(handle))!.State, (await PendingAsync(handle))!.Attempt));

            // A run whose activities do not match counts as done (nothing to unpause), as Temporal counts NOT_FOUND.
            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = ns,
                JobId = "unpause-job",
                Reason = "resume",
                VisibilityQuery = "WorkflowType = 'HoldsAnActivity'",
                UnpauseActivitiesOperation = new() { Type = "Unpolled", Identity = "batch-tester" },
            });
            var unpause = await BatchOperationTests.WaitDoneAsync(client.WorkflowService, ns, "unpause-job");
            Assert.Equal((BatchOperationType.UnpauseActivity, 1L, "batch-tester"), (unpause.OperationType, unpause.CompleteOperationCount, unpause.Identity));
            Assert.Equal(PendingActivityState.Scheduled, (await PendingAsync(handle))!.State);

            await handle.SignalAsync(wf => wf.NudgeAsync("done"));
            Assert.Equal("done", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task UpdateWorkflowOptionsByQuery_SetsTheOverride_AndListShowsTheType()
    {
        var client = await NewNamespaceClientAsync();
        var ns = client.Options.Namespace;
        var ids = await BatchOperationTests.StartIdleAsync(client.WorkflowService, ns, "OptionsTarget", 2);
        await client.WorkflowService.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = "wf-options-job",
            Reason = "auto upgrade",
            VisibilityQuery = "WorkflowType = 'OptionsTarget'",
            UpdateWorkflowOptionsOperation = new()
            {
                WorkflowExecutionOptions = new() { VersioningOverride = new() { AutoUpgrade = true } },
                UpdateMask = new FieldMask { Paths = { "versioning_override" } },
                Identity = "batch-tester",
            },
        });
        var done = await BatchOperationTests.WaitDoneAsync(client.WorkflowService, ns, "wf-options-job");
        Assert.Equal((BatchOperationState.Completed, 2L), (done.State, done.CompleteOperationCount));
        foreach (var id in ids)
        {
            var history = await client.WorkflowService.GetWorkflowExecutionHistoryAsync(new() { Namespace = ns, Execution = new() { WorkflowId = id } });
            var updated = Assert.Single(history.History.Events, e => e.EventType == EventType.WorkflowExecutionOptionsUpdated);
            Assert.True(updated.WorkflowExecutionOptionsUpdatedEventAttributes.VersioningOverride.AutoUpgrade);
        }

        var listed = await client.WorkflowService.ListBatchOperationsAsync(new() { Namespace = ns });
#pragma warning disable CS0612 // The type Temporal's server reports for an update-options batch.
        Assert.Equal(BatchOperationType.UpdateExecutionOptions, Assert.Single(listed.OperationInfo).OperationType);
#pragma warning restore CS0612
    }
}
