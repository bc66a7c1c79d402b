using Google.Protobuf;
using Temporalio.Activities;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// What a workflow learns about itself from its history, as Temporal records it: the previous run's result and
/// failure (cron, retry, schedules), its parent and root, the user metadata of its start and commands, the build id
/// each task ran on; and the SDK's built-in queries (stack trace, workflow metadata).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class WorkflowInfoTests(ServerFixture fixture)
{
    private static Payloads Text(string value) => new()
    {
        Payloads_ = { new Payload { Metadata = { ["encoding"] = ByteString.CopyFromUtf8("json/plain") }, Data = ByteString.CopyFromUtf8($"\"{value}\"") } },
    };

    private static Temporalio.Api.Command.V1.Command Fail(string message) => new()
    {
        CommandType = CommandType.FailWorkflowExecution,
        FailWorkflowExecutionCommandAttributes = new() { Failure = new Failure { Message = message, ApplicationFailureInfo = new() } },
    };

    private static WorkflowExecutionStartedEventAttributes StartedOf(IEnumerable<HistoryEvent> events) =>
        events.First().WorkflowExecutionStartedEventAttributes;

    private async Task<IReadOnlyList<HistoryEvent>> RunHistoryAsync(string id, string runId) =>
        (await fixture.Client.GetWorkflowHandle(id, runId).FetchHistoryAsync()).Events.ToList();

    private async Task<Temporalio.Api.Workflow.V1.WorkflowExecutionInfo> DescribeRawAsync(string id) =>
        (await fixture.Client.WorkflowService.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } })).WorkflowExecutionInfo;

    [Fact]
    public async Task CronRuns_GetTheLastResult_AndAfterAFailureKeepIt_WithTheFailure()
    {
        var raw = new RawDriver(fixture.Client);
        var tq = ServerFixture.NewTaskQueue();
        var id = "cron-last-" + Guid.NewGuid();
        var firstRun = (await raw.Service.StartWorkflowExecutionAsync(new StartWorkflowExecutionRequest
        {
            Namespace = raw.Namespace,
            WorkflowId = id,
            WorkflowType = new WorkflowType { Name = "RawWorkflow" },
            TaskQueue = new() { Name = tq },
            RequestId = Guid.NewGuid().ToString(),
            CronSchedule = "@every 1s",
        })).RunId;

        // Run 1 completes: run 2 starts with its result and no failure.
        var task = await raw.PollWorkflowTaskAsync(tq);
        Assert.Equal(firstRun, task.WorkflowExecution.RunId);
        await raw.CompleteAsync(task, new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.CompleteWorkflowExecution,
            CompleteWorkflowExecutionCommandAttributes = new() { Result = Text("r1") },
        });
        task = await raw.PollWorkflowTaskAsync(tq);
        var second = StartedOf(task.History.Events);
        Assert.Equal(ContinueAsNewInitiator.CronSchedule, second.Initiator);
        Assert.Equal(Text("r1"), second.LastCompletionResult);
        Assert.Null(second.ContinuedFailure);

        // Run 2 fails: run 3 gets the failure and still the last result of the chain.
        await raw.CompleteAsync(task, Fail("run 2 broke"));
        task = await raw.PollWorkflowTaskAsync(tq);
        var third = StartedOf(task.History.Events);
        Assert.Equal("run 2 broke", third.ContinuedFailure.Message);
        Assert.Equal(Text("r1"), third.LastCompletionResult);
        await fixture.Client.GetWorkflowHandle(id).TerminateAsync("stop the schedule");
    }

    [Fact]
    public async Task StartWithALastResult_RecordsIt_AndARetryAfterAFailure_GetsTheFailureWithoutIt()
    {
        // A schedule's start carries its previous action's result this way (StartWorkflowExecutionRequest fields).
        var raw = new RawDriver(fixture.Client);
        var tq = ServerFixture.NewTaskQueue();
        var id = "retry-last-" + Guid.NewGuid();
        await raw.Service.StartWorkflowExecutionAsync(new StartWorkflowExecutionRequest
        {
            Namespace = raw.Namespace,
            WorkflowId = id,
            WorkflowType = new WorkflowType { Name = "RawWorkflow" },
            TaskQueue = new() { Name = tq },
            RequestId = Guid.NewGuid().ToString(),
            RetryPolicy = new() { MaximumAttempts = 2, InitialInterval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) },
            LastCompletionResult = Text("before"),
            ContinuedFailure = new Failure { Message = "earlier failure" },
        });
        var task = await raw.PollWorkflowTaskAsync(tq);
        var first = StartedOf(task.History.Events);
        Assert.Equal(Text("before"), first.LastCompletionResult);
        Assert.Equal("earlier failure", first.ContinuedFailure.Message);

        // Temporal's rule: the retry of a failed run carries the failure, not the last completion result.
        await raw.CompleteAsync(task, Fail("attempt 1 broke"));
        task = await raw.PollWorkflowTaskAsync(tq);
        var retry = StartedOf(task.History.Events);
        Assert.Equal(ContinueAsNewInitiator.Retry, retry.Initiator);
        Assert.Equal(2, retry.Attempt);
        Assert.Equal("attempt 1 broke", retry.ContinuedFailure.Message);
        Assert.Null(retry.LastCompletionResult);
        await raw.CompleteAsync(task, RawDriver.CompleteWorkflow());
    }

    [Workflow]
    public sealed class LastFailureWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Workflow.Info.Attempt == 1
            ? throw new ApplicationFailureException("intentional", details: ["some detail"])
            : Task.FromResult($"{Workflow.Info.LastFailure?.Message}|{Workflow.Info.LastResult is null}");
    }

    [Fact]
    public async Task RetriedWorkflow_SeesTheLastFailure_InTheSdk()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<LastFailureWorkflow>(), async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync(
                (LastFailureWorkflow wf) => wf.RunAsync(),
                new("last-failure-" + Guid.NewGuid(), tq) { RetryPolicy = new() { MaximumAttempts = 2, InitialInterval = TimeSpan.FromMilliseconds(100) } });
            Assert.Equal("intentional|True", result);
        });
    }

    [Workflow]
    public sealed class TreeTopWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Workflow.ExecuteChildWorkflowAsync((TreeMiddleWorkflow wf) => wf.RunAsync());
    }

    [Workflow]
    public sealed class TreeMiddleWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Workflow.ExecuteChildWorkflowAsync(
            (TreeLeafWorkflow wf) => wf.RunAsync(true), new() { Id = Workflow.Info.WorkflowId + "-leaf" });
    }

    [Workflow]
    public sealed class TreeLeafWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(bool first)
        {
            if (first)
            {
                throw Workflow.CreateContinueAsNewException((TreeLeafWorkflow wf) => wf.RunAsync(false));
            }

            var info = Workflow.Info;
            return Task.FromResult($"{info.Root?.WorkflowId}|{info.Root?.RunId}|{info.Parent?.WorkflowId}|{info.Parent?.RunId}|{info.Parent?.Namespace}");
        }
    }

    [Fact]
    public async Task Grandchild_KnowsItsParentAndRoot_AlsoAfterContinuingAsNew_AndDescribeShowsThem()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<TreeTopWorkflow>().AddWorkflow<TreeMiddleWorkflow>().AddWorkflow<TreeLeafWorkflow>(), async tq =>
        {
            var top = await fixture.Client.StartWorkflowAsync((TreeTopWorkflow wf) => wf.RunAsync(), new("tree-" + Guid.NewGuid(), tq));
            var seen = (await top.GetResultAsync()).Split('|');
            var middleStarted = (await top.FetchHistoryAsync()).Events.Single(e => e.ChildWorkflowExecutionStartedEventAttributes != null)
                .ChildWorkflowExecutionStartedEventAttributes.WorkflowExecution;
            Assert.Equal([top.Id, top.ResultRunId!, middleStarted.WorkflowId, middleStarted.RunId, "default"], seen);

            // Describe: the leaf's root is the top; a top-level run is its own root.
            var leaf = await DescribeRawAsync(middleStarted.WorkflowId + "-leaf");
            Assert.Equal(top.Id, leaf.RootExecution.WorkflowId);
            Assert.Equal(top.ResultRunId, leaf.RootExecution.RunId);
            Assert.Equal(middleStarted.RunId, leaf.ParentExecution.RunId);
            var own = await DescribeRawAsync(top.Id);
            Assert.Equal(top.ResultRunId, own.RootExecution.RunId);

            // History: a child's started event names its root; a top-level run's names none (as Temporal writes it).
            Assert.Null(StartedOf((await top.FetchHistoryAsync()).Events).RootWorkflowExecution);
            var middle = StartedOf(await RunHistoryAsync(middleStarted.WorkflowId, middleStarted.RunId));
            Assert.Equal(top.ResultRunId, middle.RootWorkflowExecution.RunId);
        });
    }

    [Workflow]
    public sealed class MetadataWorkflow
    {
        [Activity]
        public static string DoNothing() => "nothing";

        [WorkflowRun]
        public async Task RunAsync(bool child)
        {
            if (child)
            {
                return;
            }

            await Workflow.DelayWithOptionsAsync(new(TimeSpan.FromMilliseconds(1), "my-timer"));
            await Workflow.ExecuteActivityAsync(() => DoNothing(), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30), Summary = "my-activity" });
            await Workflow.ExecuteLocalActivityAsync(() => DoNothing(), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30), Summary = "my-local-activity" });
            await Workflow.ExecuteChildWorkflowAsync(
                (MetadataWorkflow wf) => wf.RunAsync(true),
                new() { Id = Workflow.Info.WorkflowId + "-child", StaticSummary = "my-child", StaticDetails = "my-child-details" });
        }
    }

    [Fact]
    public async Task UserMetadata_OfTheStartAndOfCommands_IsRecordedAndDescribed()
    {
        await fixture.WithWorkerAsync(o => o.AddWorkflow<MetadataWorkflow>().AddActivity(MetadataWorkflow.DoNothing), async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync(
                (MetadataWorkflow wf) => wf.RunAsync(false),
                new("metadata-" + Guid.NewGuid(), tq) { StaticSummary = "my-workflow", StaticDetails = "my-workflow-details" });
            await handle.GetResultAsync();

            var described = await handle.DescribeAsync();
            Assert.Equal("my-workflow", await described.GetStaticSummaryAsync());
            Assert.Equal("my-workflow-details", await described.GetStaticDetailsAsync());

            var events = (await handle.FetchHistoryAsync()).Events;
            static string? Summary(HistoryEvent e) => e.UserMetadata?.Summary?.Data?.ToStringUtf8();
            Assert.Equal("\"my-workflow\"", Summary(events.First()));
            Assert.Contains(events, e => e.TimerStartedEventAttributes != null && Summary(e) == "\"my-timer\"");
            Assert.Contains(events, e => e.ActivityTaskScheduledEventAttributes != null && Summary(e) == "\"my-activity\"");
            Assert.Contains(events, e => e.MarkerRecordedEventAttributes != null && Summary(e) == "\"my-local-activity\"");
            Assert.Contains(events, e => e.StartChildWorkflowExecutionInitiatedEventAttributes != null && Summary(e) == "\"my-child\"");

            var child = await fixture.Client.GetWorkflowHandle(handle.Id + "-child").DescribeAsync();
            Assert.Equal("my-child", await child.GetStaticSummaryAsync());
            Assert.Equal("my-child-details", await child.GetStaticDetailsAsync());
        });
    }

    [Workflow]
    public sealed class WaitingWorkflow
    {
        [WorkflowRun]
        public async Task RunAsync()
        {
            Workflow.CurrentDetails = "waiting for a signal";
            Status = "waiting";
            await Workflow.WaitConditionAsync(() => false);
        }

        [WorkflowQuery]
        public string Status { get; private set; } = "starting";
    }

    [Fact]
    public async Task StackTraceAndMetadataQueries_AreAnsweredByTheWorker()
    {
        await fixture.WithWorkerAsync(o =>
        {
            o.WorkflowStackTrace = WorkflowStackTrace.Normal;
            o.AddWorkflow<WaitingWorkflow>();
        }, async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((WaitingWorkflow wf) => wf.RunAsync(), new("stack-" + Guid.NewGuid(), tq));
            Assert.Equal("waiting", await handle.QueryAsync(wf => wf.Status));

            var trace = await handle.QueryAsync<string>("__stack_trace", []);
            // The workflow's own frame: the SDK's WaitConditionAsync frame is there too unless the JIT inlined it (it once was, under load).
            Assert.Contains("WaitingWorkflow.RunAsync", trace, StringComparison.Ordinal);
            var metadata = await handle.QueryAsync<Temporalio.Api.Sdk.V1.WorkflowMetadata>("__temporal_workflow_metadata", []);
            Assert.Equal("waiting for a signal", metadata.CurrentDetails);
            Assert.Equal("WaitingWorkflow", metadata.Definition.Type);
            await handle.TerminateAsync("done");
        });
    }

    [Workflow]
    public sealed class BuildIdWorkflow
    {
        private bool _finish;

        [WorkflowRun]
        public async Task RunAsync()
        {
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(1));
            await Workflow.WaitConditionAsync(() => _finish);
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }

        [WorkflowQuery]
        public string BuildId => Workflow.CurrentBuildId;
    }

    [Fact]
    public async Task CurrentBuildId_IsRecordedPerTask_SoALaterWorkerReplaysIt()
    {
        var tq = ServerFixture.NewTaskQueue();
        WorkflowHandle<BuildIdWorkflow> handle = null!;
#pragma warning disable CS0618 // The plain build id (no versioning) is deprecated in the SDK but still what sets CurrentBuildId.
        using (var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(tq) { BuildId = "1.0" }.AddWorkflow<BuildIdWorkflow>()))
        {
            await worker.ExecuteAsync(async () =>
            {
                handle = await fixture.Client.StartWorkflowAsync((BuildIdWorkflow wf) => wf.RunAsync(), new("build-id-" + Guid.NewGuid(), tq));
                Assert.Equal("1.0", await handle.QueryAsync(wf => wf.BuildId));

                // The workflow's 1 ms timer brings a second task: it must run here, on 1.0, before this worker stops
                // (else it is left to the next worker, and the next query rides it on 1.1).
                var h = handle;
                Assert.True(await Eventually.HoldsAsync(async () =>
                    (await h.FetchHistoryAsync()).Events.Count(e => e.WorkflowTaskCompletedEventAttributes != null) >= 2));
            });
        }

        await fixture.Client.WorkflowService.ResetStickyTaskQueueAsync(new() { Namespace = "default", Execution = new() { WorkflowId = handle.Id } });
#pragma warning disable CS0612 // Deprecated in the API, but it is what the SDKs replay the build id from.
        Assert.Contains((await handle.FetchHistoryAsync()).Events, e => e.WorkflowTaskCompletedEventAttributes?.WorkerVersion?.BuildId == "1.0");
#pragma warning restore CS0612

        using var next = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(tq) { BuildId = "1.1" }.AddWorkflow<BuildIdWorkflow>());
#pragma warning restore CS0618
        await next.ExecuteAsync(async () =>
        {
            // Replayed from history: the tasks so far ran on 1.0; the next one runs on 1.1.
            Assert.Equal("1.0", await handle.QueryAsync(wf => wf.BuildId));
            await handle.SignalAsync(wf => wf.FinishAsync());
            await handle.GetResultAsync();
            Assert.Equal("1.1", await handle.QueryAsync(wf => wf.BuildId));
        });
    }
}
