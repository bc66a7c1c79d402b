using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class UpdateTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class CounterWorkflow
    {
        private int _total;
        private int _calls;
        private bool _done;

        [WorkflowRun]
        public async Task<int> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _done);
            return _total;
        }

        [WorkflowUpdate]
        public async Task<int> AddAsync(int amount)
        {
            _calls++;
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(10));
            _total += amount;
            return _total;
        }

        [WorkflowUpdateValidator(nameof(AddAsync))]
        public void ValidateAdd(int amount)
        {
            if (amount < 0)
            {
                throw new ApplicationFailureException("amount must not be negative");
            }
        }

        /// <summary>Accepted, never finished: it is still running when the workflow completes.</summary>
        [WorkflowUpdate]
        public async Task<int> StuckAsync()
        {
            await Workflow.WaitConditionAsync(() => false);
            return 0;
        }

        [WorkflowQuery]
        public int Calls() => _calls;

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _done = true;
            return Task.CompletedTask;
        }
    }

    private Task RunAsync(Func<string, Task> body) => fixture.WithWorkerAsync(o => o.AddWorkflow<CounterWorkflow>(), body);

    [Fact]
    public async Task Update_IsAcceptedAndCompleted_WithItsResult_AndRecordedInHistory()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-" + Guid.NewGuid(), tq));
            Assert.Equal(5, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(5)));
            Assert.Equal(12, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(7)));
            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal(12, await handle.GetResultAsync());

            var events = (await handle.FetchHistoryAsync()).Events.ToList();
            Assert.Equal(2, events.Count(e => e.EventType == EventType.WorkflowExecutionUpdateAccepted));
            var completed = events.Where(e => e.EventType == EventType.WorkflowExecutionUpdateCompleted).ToList();
            Assert.Equal(2, completed.Count);
            Assert.All(completed, c => Assert.Equal(EventType.WorkflowExecutionUpdateAccepted, events[(int)c.WorkflowExecutionUpdateCompletedEventAttributes.AcceptedEventId - 1].EventType));
        });
    }

    [Fact]
    public async Task RejectedUpdate_FailsForTheCaller_AndLeavesNoUpdateEvents()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-reject-" + Guid.NewGuid(), tq));
            var error = await Assert.ThrowsAsync<WorkflowUpdateFailedException>(() => handle.ExecuteUpdateAsync(wf => wf.AddAsync(-1)));
            Assert.Contains("must not be negative", error.InnerException?.Message, StringComparison.Ordinal);
            Assert.Equal(0, await handle.QueryAsync(wf => wf.Calls()));
            var events = (await handle.FetchHistoryAsync()).Events;
            Assert.DoesNotContain(events, e => e.EventType is EventType.WorkflowExecutionUpdateAccepted or EventType.WorkflowExecutionUpdateCompleted);
            await handle.TerminateAsync("done");
        });
    }

    [Fact]
    public async Task RejectedUpdates_LeaveHistoryUntouched_AndTheWorkflowGoesOn()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-speculative-" + Guid.NewGuid(), tq));
            await handle.QueryAsync(wf => wf.Calls()); // the first workflow task has completed
            var before = (await handle.FetchHistoryAsync()).Events.Select(e => e.ToString()).ToList();

            for (var i = 0; i < 3; i++)
            {
                await Assert.ThrowsAsync<WorkflowUpdateFailedException>(() => handle.ExecuteUpdateAsync(wf => wf.AddAsync(-1)));
            }

            // The speculative tasks that carried the rejected updates were dropped: not one event more.
            Assert.Equal(before, (await handle.FetchHistoryAsync()).Events.Select(e => e.ToString()).ToList());

            // The worker's cached state stays in step with history after the dropped tasks.
            Assert.Equal(4, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(4)));
            await Assert.ThrowsAsync<WorkflowUpdateFailedException>(() => handle.ExecuteUpdateAsync(wf => wf.AddAsync(-2)));
            Assert.Equal(10, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(6)));
            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal(10, await handle.GetResultAsync());

            var history = await handle.FetchHistoryAsync();
            Assert.Equal(2, history.Events.Count(e => e.EventType == EventType.WorkflowExecutionUpdateAccepted));
            await new WorkflowReplayer(new WorkflowReplayerOptions().AddWorkflow<CounterWorkflow>()).ReplayWorkflowAsync(history);
        });
    }

    [Fact]
    public async Task SameUpdateId_RunsOnce_AndReturnsTheSameResult()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-dedupe-" + Guid.NewGuid(), tq));
            var first = await handle.ExecuteUpdateAsync(wf => wf.AddAsync(3), new("same-update"));
            var second = await handle.ExecuteUpdateAsync(wf => wf.AddAsync(3), new("same-update"));
            Assert.Equal(3, first);
            Assert.Equal(3, second);
            Assert.Equal(1, await handle.QueryAsync(wf => wf.Calls()));
            await handle.TerminateAsync("done");
        });
    }

    [Fact]
    public async Task StartUpdate_WaitsForAcceptance_ThenTheResultIsPolled()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-async-" + Guid.NewGuid(), tq));
            var update = await handle.StartUpdateAsync(wf => wf.AddAsync(4), new(WorkflowUpdateStage.Accepted));
            Assert.Equal(4, await update.GetResultAsync());
            await handle.TerminateAsync("done");
        });
    }

    [Fact]
    public async Task UpdateOfAClosedWorkflow_IsRefused()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-closed-" + Guid.NewGuid(), tq));
            await handle.SignalAsync(wf => wf.FinishAsync());
            await handle.GetResultAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => handle.ExecuteUpdateAsync(wf => wf.AddAsync(1)));
        });
    }

    [Fact]
    public async Task UpdateWithStart_StartsTheWorkflow_ThenUsesTheRunningOne()
    {
        await RunAsync(async tq =>
        {
            var id = "update-with-start-" + Guid.NewGuid();
            WithStartWorkflowOperation<WorkflowHandle<CounterWorkflow, int>> Operation() => WithStartWorkflowOperation.Create(
                (CounterWorkflow wf) => wf.RunAsync(),
                new(id, tq) { IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting });

            var first = Operation();
            Assert.Equal(2, await fixture.Client.ExecuteUpdateWithStartWorkflowAsync((CounterWorkflow wf) => wf.AddAsync(2), new(first)));
            var second = Operation();
            Assert.Equal(5, await fixture.Client.ExecuteUpdateWithStartWorkflowAsync((CounterWorkflow wf) => wf.AddAsync(3), new(second)));
            var handle = await first.GetHandleAsync();
            Assert.Equal(handle.ResultRunId, (await second.GetHandleAsync()).ResultRunId);
            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal(5, await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task AcceptedUpdate_UnfinishedWhenTheWorkflowCompletes_FailsWithTemporalsWorkflowCompletedOutcome()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new("update-unfinished-" + Guid.NewGuid(), tq));
            var update = await handle.StartUpdateAsync(wf => wf.StuckAsync(), new(WorkflowUpdateStage.Accepted));
            await handle.SignalAsync(wf => wf.FinishAsync());
            await handle.GetResultAsync();

            // A caller that saw the update accepted gets an outcome, not an error (the handle and a fresh poll alike).
            foreach (var poll in new[] { update, handle.GetUpdateHandle<int>(update.Id) })
            {
                var error = await Assert.ThrowsAsync<WorkflowUpdateFailedException>(() => poll.GetResultAsync());
                var failure = Assert.IsType<ApplicationFailureException>(error.InnerException);
                Assert.Equal("Workflow Update failed because the Workflow completed before the Update completed.", failure.Message);
                Assert.Equal("AcceptedUpdateCompletedWorkflow", failure.ErrorType);
            }
        });
    }

    [Fact]
    public async Task Update_DuringTheStartDelay_StartsTheWorkflow()
    {
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync(
                (CounterWorkflow wf) => wf.RunAsync(),
                new("update-start-delay-" + Guid.NewGuid(), tq) { StartDelay = TimeSpan.FromHours(1) });
            Assert.Equal(3, await handle.ExecuteUpdateAsync(wf => wf.AddAsync(3)));
            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal(3, await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task SignalWithStart_OfARunInItsStartDelay_StartsIt()
    {
        await RunAsync(async tq =>
        {
            var id = "signal-with-start-delay-" + Guid.NewGuid();
            var handle = await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), new(id, tq) { StartDelay = TimeSpan.FromHours(1) });
            var options = new WorkflowOptions(id, tq) { IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting };
            options.SignalWithStart((CounterWorkflow wf) => wf.FinishAsync());
            await fixture.Client.StartWorkflowAsync((CounterWorkflow wf) => wf.RunAsync(), options);
            Assert.Equal(0, await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task UpdateNotYetAccepted_WhenTheRunContinuesAsNew_IsCarriedByTheNewRun()
    {
        var raw = new RawDriver(fixture.Client);
        var tq = ServerFixture.NewTaskQueue();
        var id = "update-can-" + Guid.NewGuid();
        var firstRun = (await raw.StartAsync(id, tq)).RunId;
        var task = await raw.PollWorkflowTaskAsync(tq);

        // Admitted while the task that continues as new is running: not sent to the worker yet.
        var updateId = "u-" + Guid.NewGuid();
        var update = raw.Service.UpdateWorkflowExecutionAsync(new Temporalio.Api.WorkflowService.V1.UpdateWorkflowExecutionRequest
        {
            Namespace = raw.Namespace,
            WorkflowExecution = new() { WorkflowId = id },
            WaitPolicy = new() { LifecycleStage = UpdateWorkflowExecutionLifecycleStage.Completed },
            Request = new() { Meta = new() { UpdateId = updateId }, Input = new() { Name = "change" } },
        });
        var admitted = await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await raw.Service.PollWorkflowExecutionUpdateAsync(new Temporalio.Api.WorkflowService.V1.PollWorkflowExecutionUpdateRequest
                {
                    Namespace = raw.Namespace,
                    UpdateRef = new() { WorkflowExecution = new() { WorkflowId = id, RunId = firstRun }, UpdateId = updateId },
                    WaitPolicy = new() { LifecycleStage = UpdateWorkflowExecutionLifecycleStage.Admitted },
                });
                return true;
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                return false;
            }
        });
        Assert.True(admitted);
        await raw.CompleteAsync(task, new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.ContinueAsNewWorkflowExecution,
            ContinueAsNewWorkflowExecutionCommandAttributes = new() { WorkflowType = new() { Name = "RawWorkflow" }, TaskQueue = new() { Name = tq } },
        });

        // As in Temporal, the update is not lost with the closing run: its caller retries it on the new run ("workflow
        // is closing"), so the new run's first task carries it when the retry got there first, else the next task does.
        var next = await raw.PollWorkflowTaskAsync(tq);
        Assert.NotEqual(firstRun, next.WorkflowExecution.RunId);
        for (var i = 0; i < 5 && !next.Messages.Any(msg => msg.ProtocolInstanceId == updateId); i++)
        {
            await raw.CompleteAsync(next);
            next = await raw.PollWorkflowTaskAsync(tq);
        }

        var request = Assert.Single(next.Messages, msg => msg.ProtocolInstanceId == updateId);
        var rejected = new RespondWorkflowTaskCompletedRequest { Namespace = raw.Namespace, TaskToken = next.TaskToken, Identity = "raw-driver" };
        rejected.Messages.Add(new Temporalio.Api.Protocol.V1.Message
        {
            Id = updateId + "/reject",
            ProtocolInstanceId = updateId,
            Body = Google.Protobuf.WellKnownTypes.Any.Pack(new Temporalio.Api.Update.V1.Rejection
            {
                RejectedRequestMessageId = request.Id,
                RejectedRequest = request.Body.Unpack<Temporalio.Api.Update.V1.Request>(),
                Failure = new() { Message = "not now", ApplicationFailureInfo = new() },
            }),
        });
        await raw.Service.RespondWorkflowTaskCompletedAsync(rejected);
        var response = await update;
        Assert.Equal("not now", response.Outcome.Failure.Message);
        Assert.Equal(next.WorkflowExecution.RunId, response.UpdateRef.WorkflowExecution.RunId);
    }
}
