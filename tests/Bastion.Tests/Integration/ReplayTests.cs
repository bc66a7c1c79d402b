using Temporalio.Activities;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Histories Bastion writes replay in the SDK's own replayer without nondeterminism: children, continue-as-new,
/// local activities, patches, timers, signals and cancellation.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ReplayTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class ReplayChild
    {
        [WorkflowRun]
        public Task<string> RunAsync(string value) => Task.FromResult(value.ToUpperInvariant());
    }

    [Workflow]
    public sealed class ReplayWorkflow
    {
        private bool _go;

        [WorkflowRun]
        public async Task<string> RunAsync(int iteration)
        {
            var parts = new List<string>();
            if (Workflow.Patched("v2"))
            {
                parts.Add("patched");
            }

            parts.Add(await Workflow.ExecuteLocalActivityAsync(() => Local(iteration), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) }));
            parts.Add(await Workflow.ExecuteActivityAsync(() => Remote(iteration), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) }));
            parts.Add(await Workflow.ExecuteChildWorkflowAsync((ReplayChild c) => c.RunAsync("child" + iteration)));

            using var cts = new CancellationTokenSource();
            var longTimer = Workflow.DelayAsync(TimeSpan.FromHours(1), cts.Token);
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(50));
#pragma warning disable CA1849 // CancelAsync would run callbacks on the thread pool, outside the workflow scheduler.
            cts.Cancel();
#pragma warning restore CA1849
            await Task.WhenAny(longTimer);
            if (iteration == 0)
            {
                await Workflow.WaitConditionAsync(() => _go);
                throw Workflow.CreateContinueAsNewException((ReplayWorkflow wf) => wf.RunAsync(iteration + 1));
            }

            return string.Join(",", parts);
        }

        [WorkflowSignal]
        public Task GoAsync()
        {
            _go = true;
            return Task.CompletedTask;
        }

        [Activity]
        public static string Local(int i) => "local" + i;

        [Activity]
        public static string Remote(int i) => "remote" + i;
    }

    /// <summary>Takes updates until canceled, then cleans up with an activity.</summary>
    [Workflow]
    public sealed class UpdatedThenCanceledWorkflow
    {
        private int _total;

        [WorkflowRun]
        public async Task<int> RunAsync()
        {
            try
            {
                await Workflow.WaitConditionAsync(() => false);
                return _total;
            }
            catch (TaskCanceledException)
            {
                using var detached = new CancellationTokenSource();
                await Workflow.ExecuteActivityAsync(() => ReplayWorkflow.Remote(_total), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10), CancellationToken = detached.Token });
                throw;
            }
        }

        [WorkflowUpdate]
        public async Task<int> AddAsync(int amount)
        {
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(10));
            _total += amount;
            return _total;
        }

        [WorkflowUpdateValidator(nameof(AddAsync))]
        public void ValidateAdd(int amount)
        {
            if (amount < 0)
            {
                throw new ArgumentException("negative");
            }
        }
    }

    [Fact]
    public async Task UpdatesAndCancellation_ReplayWithoutNondeterminism()
    {
        await fixture.WithWorkerAsync(
            o => o.AddWorkflow<UpdatedThenCanceledWorkflow>().AddActivity(ReplayWorkflow.Remote),
            async tq =>
            {
                var handle = await fixture.Client.StartWorkflowAsync((UpdatedThenCanceledWorkflow wf) => wf.RunAsync(), new("replay-updates-" + Guid.NewGuid(), tq));
                Assert.Equal(2, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(2)));
                await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowUpdateFailedException>(() => handle.ExecuteUpdateAsync(wf => wf.AddAsync(-1)));
                Assert.Equal(5, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(3)));
                await handle.CancelAsync();
                await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => handle.GetResultAsync());

                var result = await new WorkflowReplayer(new WorkflowReplayerOptions().AddWorkflow<UpdatedThenCanceledWorkflow>())
                    .ReplayWorkflowAsync(await handle.FetchHistoryAsync());
                Assert.Null(result.ReplayFailure);
            });
    }

    [Fact]
    public async Task BastionHistories_ReplayWithoutNondeterminism()
    {
        await fixture.WithWorkerAsync(
            o => o.AddWorkflow<ReplayWorkflow>().AddWorkflow<ReplayChild>().AddActivity(ReplayWorkflow.Local).AddActivity(ReplayWorkflow.Remote),
            async tq =>
            {
                var id = "replay-" + Guid.NewGuid();
                var handle = await fixture.Client.StartWorkflowAsync((ReplayWorkflow wf) => wf.RunAsync(0), new(id, tq));
                await handle.SignalAsync(wf => wf.GoAsync());
                Assert.Equal("patched,local1,remote1,CHILD1", await handle.GetResultAsync());

                var histories = new List<Temporalio.Common.WorkflowHistory>
                {
                    await fixture.Client.GetWorkflowHandle(id, handle.ResultRunId).FetchHistoryAsync(),
                    await fixture.Client.GetWorkflowHandle(id).FetchHistoryAsync(),
                };
                var replayer = new WorkflowReplayer(new WorkflowReplayerOptions().AddWorkflow<ReplayWorkflow>().AddWorkflow<ReplayChild>());
                foreach (var history in histories)
                {
                    var result = await replayer.ReplayWorkflowAsync(history);
                    Assert.Null(result.ReplayFailure);
                }
            });
    }
}
