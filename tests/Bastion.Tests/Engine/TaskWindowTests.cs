using Bastion.Engine.History;
using Bastion.Engine.Tasks;
using Bastion.Tests.Integration;
using Temporalio.Client;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Engine;

/// <summary>
/// Only tasks due within the window (now + <see cref="HistoryEngine.TaskWindow"/>) are held in memory; later ones stay in
/// the store until the window reaches them. A real server on a SQLite file, driven by the SDK, on a clock the test moves.
/// </summary>
public sealed class TaskWindowTests : IAsyncLifetime
{
    private readonly ManualTime _time = new(DateTimeOffset.UtcNow);
    private readonly FileServer _server;

    public TaskWindowTests() => _server = new FileServer(_time);

    [Workflow]
    public sealed class Sleeper
    {
        [WorkflowRun]
        public async Task<string> RunAsync(TimeSpan sleep)
        {
            await Workflow.DelayAsync(sleep);
            return "woke";
        }
    }

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    [Fact]
    public async Task ATimerWithinTheWindow_IsHeldInMemoryAtOnce()
    {
        var tq = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(_server.Client, new TemporalWorkerOptions(tq).AddWorkflow<Sleeper>());
        await worker.ExecuteAsync(async () =>
        {
            var handle = await StartAsync(tq, TimeSpan.FromMinutes(2));
            Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Engine.HoldsTask(handle.ResultRunId!, TaskKind.UserTimer))));
            _time.Advance(TimeSpan.FromMinutes(3));
            Assert.Equal("woke", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        });
    }

    [Fact]
    public async Task ATimerBeyondTheWindow_StaysInTheStore_UntilTheWindowReachesIt_ThenFires()
    {
        var tq = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(_server.Client, new TemporalWorkerOptions(tq).AddWorkflow<Sleeper>());
        await worker.ExecuteAsync(async () =>
        {
            var handle = await StartAsync(tq, TimeSpan.FromHours(3));
            await WaitForTimerStartedAsync(handle);
            Assert.False(Engine.HoldsTask(handle.ResultRunId!, TaskKind.UserTimer));

            _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(55)); // the window now reaches it: in memory, not due
            Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Engine.HoldsTask(handle.ResultRunId!, TaskKind.UserTimer))));
            _time.Advance(TimeSpan.FromMinutes(6));
            Assert.Equal("woke", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        });
    }

    [Fact]
    public async Task ATimerBeyondTheWindow_FiresAfterARestart_WhenItsTimeComes()
    {
        var tq = ServerFixture.NewTaskQueue();
        WorkflowHandle<Sleeper, string> handle = null!;
        using (var worker = new TemporalWorker(_server.Client, new TemporalWorkerOptions(tq).AddWorkflow<Sleeper>()))
        {
            await worker.ExecuteAsync(async () =>
            {
                handle = await StartAsync(tq, TimeSpan.FromDays(2));
                await WaitForTimerStartedAsync(handle);
            });
        }

        await _server.RestartAsync();
        Assert.False(Engine.HoldsTask(handle.ResultRunId!, TaskKind.UserTimer));
        using var again = new TemporalWorker(_server.Client, new TemporalWorkerOptions(tq).AddWorkflow<Sleeper>());
        await again.ExecuteAsync(async () =>
        {
            _time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1)); // one jump past both the window's moves and the timer
            var result = await _server.Client.GetWorkflowHandle<Sleeper, string>(handle.Id).GetResultAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("woke", result);
        });
    }

    private HistoryEngine Engine => _server.Server.Engine;

    private Task<WorkflowHandle<Sleeper, string>> StartAsync(string tq, TimeSpan sleep) =>
        _server.Client.StartWorkflowAsync((Sleeper wf) => wf.RunAsync(sleep), new("window-" + Guid.NewGuid(), tq));

    private static async Task WaitForTimerStartedAsync(WorkflowHandle handle) =>
        Assert.True(await Eventually.HoldsAsync(async () => (await handle.FetchHistoryAsync()).Events.Any(e => e.TimerStartedEventAttributes != null)));
}
