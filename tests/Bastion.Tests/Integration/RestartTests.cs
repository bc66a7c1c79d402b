using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// A server killed with SIGKILL and restarted on the same database resumes every workflow, losing and repeating
/// nothing; run on each provider (<see cref="SqliteRestartTests"/>, <see cref="PostgresRestartTests"/>).
/// </summary>
public abstract class RestartTests : IDisposable
{
    protected RestartTests() => Directory.CreateDirectory(WorkDirectory);

    /// <summary>A directory of the test's own (database or key files).</summary>
    protected string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), "bastion-restart-" + Guid.NewGuid().ToString("N"));

    /// <summary>Starts <c>bastion server start-dev</c> on the test's durable database; the same database every time.</summary>
    private protected abstract Task<ServerProcess> StartServerAsync(int port);

    [Workflow]
    public sealed class WaitOnTimer
    {
        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.DelayAsync(TimeSpan.FromSeconds(5));
            return "timer done";
        }
    }

    [Workflow]
    public sealed class RunActivity
    {
        [WorkflowRun]
        public Task<string> RunAsync() => Workflow.ExecuteActivityAsync(
            (GatedActivity a) => a.WaitForGateAsync(),
            new() { StartToCloseTimeout = TimeSpan.FromSeconds(10), RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(200) } });
    }

    [Workflow]
    public sealed class ParentOfSleeper
    {
        [WorkflowRun]
        public Task<string> RunAsync(string childId) =>
            Workflow.ExecuteChildWorkflowAsync((WaitOnTimer c) => c.RunAsync(), new() { Id = childId });
    }

    [Workflow]
    public sealed class ContinueAfterTimer
    {
        [WorkflowRun]
        public async Task<int> RunAsync(int run)
        {
            await Workflow.DelayAsync(TimeSpan.FromSeconds(2));
            return run < 2 ? throw Workflow.CreateContinueAsNewException((ContinueAfterTimer wf) => wf.RunAsync(run + 1)) : run;
        }
    }

    /// <summary>Its update handler waits on a timer, so the update is accepted long before it completes.</summary>
    [Workflow]
    public sealed class SlowUpdate
    {
        private bool _updated;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _updated);
            return "updated";
        }

        [WorkflowUpdate]
        public async Task<int> BumpAsync(int value)
        {
            await Workflow.DelayAsync(TimeSpan.FromSeconds(2));
            _updated = true;
            return value + 1;
        }
    }

    public sealed class GatedActivity
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        [Activity]
        public async Task<string> WaitForGateAsync()
        {
            Started.TrySetResult();
            await Gate.Task;
            return "activity done";
        }
    }

    [Fact]
    public async Task KilledServer_ResumesTimersAndActivities_WithoutLosingOrRepeatingEvents()
    {
        var port = ServerProcess.FreePort();
        var server = await StartServerAsync(port);
        try
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            var activity = new GatedActivity();
            var tq = ServerFixture.NewTaskQueue();
            using var worker = new TemporalWorker(client, new TemporalWorkerOptions(tq)
                .AddWorkflow<WaitOnTimer>().AddWorkflow<RunActivity>().AddWorkflow<ParentOfSleeper>().AddWorkflow<ContinueAfterTimer>()
                .AddWorkflow<SlowUpdate>().AddAllActivities(activity));
            await worker.ExecuteAsync(async () =>
            {
                var timer = await client.StartWorkflowAsync((WaitOnTimer wf) => wf.RunAsync(), new("restart-timer-" + Guid.NewGuid(), tq));
                var running = await client.StartWorkflowAsync((RunActivity wf) => wf.RunAsync(), new("restart-activity-" + Guid.NewGuid(), tq));
                var childId = "restart-child-" + Guid.NewGuid();
                var parent = await client.StartWorkflowAsync((ParentOfSleeper wf) => wf.RunAsync(childId), new("restart-parent-" + Guid.NewGuid(), tq));
                var chain = await client.StartWorkflowAsync((ContinueAfterTimer wf) => wf.RunAsync(0), new("restart-chain-" + Guid.NewGuid(), tq));
                await activity.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await WaitForEventAsync(timer, EventType.TimerStarted);
                await WaitForEventAsync(parent, EventType.ChildWorkflowExecutionStarted);
                var updated = await client.StartWorkflowAsync((SlowUpdate wf) => wf.RunAsync(), new("restart-update-" + Guid.NewGuid(), tq));
                var update = updated.ExecuteUpdateAsync(wf => wf.BumpAsync(41), new("the-update"));
                await WaitForEventAsync(updated, EventType.WorkflowExecutionUpdateAccepted);

                server.Kill();
                server.Dispose();
                server = await StartServerAsync(port);
                activity.Gate.SetResult();

                Assert.Equal("timer done", await timer.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                Assert.Equal("activity done", await running.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                AssertWellFormed(await timer.FetchHistoryAsync(), EventType.TimerStarted, EventType.TimerFired);
                AssertWellFormed(await running.FetchHistoryAsync(), EventType.ActivityTaskScheduled, EventType.ActivityTaskCompleted);
                Assert.Equal("timer done", await parent.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                AssertWellFormed(await parent.FetchHistoryAsync(), EventType.StartChildWorkflowExecutionInitiated, EventType.ChildWorkflowExecutionStarted, EventType.ChildWorkflowExecutionCompleted);
                AssertWellFormed(await client.GetWorkflowHandle(childId).FetchHistoryAsync(), EventType.TimerStarted, EventType.TimerFired);
                Assert.Equal(2, await chain.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                try
                {
                    Assert.Equal(42, await update.WaitAsync(TimeSpan.FromSeconds(60))); // the caller's retry finds it
                }
                catch (Temporalio.Exceptions.RpcException)
                {
                    // On a loaded machine the restart can outlast the SDK's retries of the in-flight call; the update,
                    // accepted before the kill, must complete all the same, and a handle to it reads the result.
                }

                Assert.Equal(42, await updated.GetUpdateHandle<int>("the-update").GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                Assert.Equal("updated", await updated.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                AssertWellFormed(await updated.FetchHistoryAsync(), EventType.WorkflowExecutionUpdateAccepted, EventType.WorkflowExecutionUpdateCompleted);
                AssertWellFormed(await client.GetWorkflowHandle(chain.Id).FetchHistoryAsync(), EventType.TimerStarted, EventType.TimerFired);
            }).WaitAsync(TimeSpan.FromSeconds(120));
        }
        finally
        {
            server.Dispose();
        }
    }

    [Activity]
    public static Task<string> EchoAsync(string input) => Task.FromResult("echo:" + input);

    /// <summary>An acknowledged start of a standalone activity survives the kill: a worker that comes after runs it.</summary>
    [Fact]
    public async Task KilledServer_KeepsAStartedStandaloneActivity()
    {
        var port = ServerProcess.FreePort();
        var server = await StartServerAsync(port);
        try
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            var tq = ServerFixture.NewTaskQueue();
            var handle = await client.StartActivityAsync(() => EchoAsync("kept"), new("restart-sa-" + Guid.NewGuid(), tq) { ScheduleToCloseTimeout = TimeSpan.FromMinutes(2) });

            server.Kill();
            server.Dispose();
            server = await StartServerAsync(port);
            client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            using var worker = new TemporalWorker(client, new TemporalWorkerOptions(tq).AddActivity(EchoAsync));
            await worker.ExecuteAsync(async () =>
            {
                Assert.Equal("echo:kept", await client.GetActivityHandle<string>(handle.Id, handle.RunId).GetResultAsync());
                Assert.Equal(ActivityExecutionStatus.Completed, (await client.GetActivityHandle(handle.Id).DescribeAsync()).Status);
            }).WaitAsync(TimeSpan.FromSeconds(120));
        }
        finally
        {
            server.Dispose();
        }
    }

    /// <summary>
    /// An operation backed by a workflow update keeps its callback through a kill: the update, accepted before it and
    /// completed after the restart, still completes the caller's operation.
    /// </summary>
    [Fact]
    public async Task KilledServer_KeepsAnUpdateBackedNexusOperationsCallback()
    {
        var port = ServerProcess.FreePort();
        var server = await StartServerAsync(port);
        try
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            var tq = ServerFixture.NewTaskQueue();
            var endpoint = await Nexus.NexusTestEndpoints.CreateAsync(client, "default.local", tq, allowed: "default.local");
            using var worker = new TemporalWorker(client, new TemporalWorkerOptions(tq)
                .AddNexusService(new Nexus.NexusBackedOperationTests.BackedService())
                .AddWorkflow<Nexus.NexusBackedOperationTests.CounterWorkflow>()
                .AddWorkflow<Nexus.NexusBackedOperationTests.AddCallerWorkflow>());
            await worker.ExecuteAsync(async () =>
            {
                var counter = await client.StartWorkflowAsync((Nexus.NexusBackedOperationTests.CounterWorkflow wf) => wf.RunAsync(), new("restart-counter-" + Guid.NewGuid(), tq));
                await counter.SignalAsync(wf => wf.HoldAsync(true));
                var caller = await client.StartWorkflowAsync(
                    (Nexus.NexusBackedOperationTests.AddCallerWorkflow wf) => wf.RunAsync(endpoint, new(counter.Id, 7, "held-across-restart")),
                    new("restart-caller-" + Guid.NewGuid(), tq));
                await WaitForEventAsync(counter, EventType.WorkflowExecutionUpdateAccepted);
                await WaitForEventAsync(caller, EventType.NexusOperationStarted);

                server.Kill();
                server.Dispose();
                server = await StartServerAsync(port);
                await counter.SignalAsync(wf => wf.HoldAsync(false));

                Assert.Equal(7, await caller.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            }).WaitAsync(TimeSpan.FromSeconds(120));
        }
        finally
        {
            server.Dispose();
        }
    }

    private static async Task WaitForEventAsync(WorkflowHandle handle, EventType type)
    {
        for (var i = 0; i < 100; i++)
        {
            if ((await handle.FetchHistoryAsync()).Events.Any(e => e.EventType == type))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{type} never appeared.");
    }

    /// <summary>Ids 1..n without gaps or repeats, each expected event once, one started and one close event.</summary>
    private static void AssertWellFormed(Temporalio.Common.WorkflowHistory history, params EventType[] once)
    {
        var events = history.Events.ToList();
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.EventId));
        Assert.Equal(EventType.WorkflowExecutionStarted, events[0].EventType);
        Assert.Equal(EventType.WorkflowExecutionCompleted, events[^1].EventType);
        Assert.Single(events, e => e.EventType == EventType.WorkflowExecutionStarted);
        foreach (var type in once)
        {
            Assert.Single(events, e => e.EventType == type);
        }
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class SqliteRestartTests : RestartTests
{
    private protected override Task<ServerProcess> StartServerAsync(int port) => ServerProcess.StartAsync(port, Path.Combine(WorkDirectory, "bastion.db"));
}

/// <summary>
/// The same on PostgreSQL, encrypted at rest with a master key file (PostgreSQL has no default one). The class's tests
/// share one database, so they share its master key too (a test's own work directory would give each a new key).
/// </summary>
public sealed class PostgresRestartTests(Storage.Postgres.PostgresDatabase database) : RestartTests, IClassFixture<Storage.Postgres.PostgresDatabase>
{
    private protected override Task<ServerProcess> StartServerAsync(int port) => ServerProcess.StartAsync(port,
    [
        "server", "start-dev", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--headless", "--log-level", "warn",
        "--database-url", Storage.Postgres.PostgresDatabase.UrlText(database.Url.Database), "--master-key-file", Path.Combine(Path.GetTempPath(), $"bastion-restart-{database.Url.Database}.master-key"),
    ], ServerProcess.ReadyLine);
}
