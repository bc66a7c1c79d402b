using Bastion.Server;
using Temporalio.Client;
using Temporalio.Client.Schedules;
using Temporalio.Exceptions;
using ScheduleOverlapPolicy = Temporalio.Api.Enums.V1.ScheduleOverlapPolicy;

namespace Bastion.Tests.Integration;

/// <summary>Schedules through the official SDK against a real server on fake time (no worker: started workflows stay running).</summary>
public sealed class ScheduleTests : IAsyncLifetime
{
    private static readonly DateTimeOffset s_start = new(2030, 1, 1, 0, 0, 30, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-schedules-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(s_start);
    private BastionServer _server = null!;
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
            Time = _time,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        _client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(_server.Address) { Namespace = "default" });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Schedule EveryMinute(string workflowId, ScheduleOverlapPolicy overlap) => new(
        ScheduleActionStartWorkflow.Create("Sleeper", Array.Empty<object?>(), new WorkflowOptions(workflowId, "schedule-queue")),
        new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromMinutes(1))] })
    {
        Policy = new SchedulePolicy { Overlap = overlap },
    };

    /// <summary>Polls until the schedule's description satisfies the condition (the scheduler runs after the clock moves).</summary>
    private static async Task<ScheduleDescription> WaitForAsync(ScheduleHandle handle, Func<ScheduleDescription, bool> condition)
    {
        for (var i = 0; i < 300; i++)
        {
            var description = await handle.DescribeAsync();
            if (condition(description))
            {
                return description;
            }

            await Task.Delay(50);
        }

        return await handle.DescribeAsync();
    }

    [Fact]
    public async Task Schedule_FiresOnFakeTime_DescribeListPauseTriggerBackfillUpdateDelete()
    {
        var handle = await _client.CreateScheduleAsync("sched-basic", EveryMinute("basic", ScheduleOverlapPolicy.AllowAll));
        _time.Advance(TimeSpan.FromSeconds(30));
        var described = await WaitForAsync(handle, d => d.Info.NumActions == 1);
        Assert.Equal(1, described.Info.NumActions);
        var action = Assert.Single(described.Info.RecentActions);
        var started = Assert.IsType<ScheduleActionExecutionStartWorkflow>(action.Action);
        Assert.Equal("basic-2030-01-01T00:01:00Z", started.WorkflowId);
        var workflow = await _client.GetWorkflowHandle(started.WorkflowId).DescribeAsync();
        Assert.Equal("sched-basic", workflow.TypedSearchAttributes.Get(Temporalio.Common.SearchAttributeKey.CreateKeyword("TemporalScheduledById")));
        Assert.NotEmpty(described.Info.NextActionTimes);

        await handle.PauseAsync("maintenance");
        _time.Advance(TimeSpan.FromMinutes(1));
        described = await handle.DescribeAsync();
        Assert.True(described.Schedule.State.Paused);
        Assert.Equal("maintenance", described.Schedule.State.Note);
        Assert.Equal(1, described.Info.NumActions);

        await handle.UnpauseAsync();
        await handle.TriggerAsync();
        await WaitForAsync(handle, d => d.Info.NumActions == 2);
        await handle.BackfillAsync([new ScheduleBackfill(new DateTime(2029, 12, 31, 0, 0, 0, DateTimeKind.Utc), new DateTime(2029, 12, 31, 0, 2, 0, DateTimeKind.Utc))]);
        described = await WaitForAsync(handle, d => d.Info.NumActions == 5);
        Assert.Equal(5, described.Info.NumActions);

        await handle.UpdateAsync(input => new ScheduleUpdate(input.Description.Schedule with
        {
            Spec = new ScheduleSpec { CronExpressions = ["0 12 * * *"] },
        }));
        described = await handle.DescribeAsync();
        Assert.Equal(12, Assert.Single(described.Schedule.Spec.Calendars).Hour.Single().Start);

        var listed = new List<string>();
        await foreach (var entry in _client.ListSchedulesAsync(new ScheduleListOptions { Query = "ScheduleId = 'sched-basic'" }))
        {
            listed.Add(entry.Id);
        }

        Assert.Equal(["sched-basic"], listed);

        await Assert.ThrowsAsync<ScheduleAlreadyRunningException>(() => _client.CreateScheduleAsync("sched-basic", EveryMinute("basic", ScheduleOverlapPolicy.AllowAll)));
        await handle.DeleteAsync();
        var missing = await Assert.ThrowsAsync<RpcException>(() => handle.DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, missing.Code);
    }

    [Fact]
    public async Task OverlapSkip_SkipsWhileRunning_BufferOne_StartsWhenTheRunningOneCloses()
    {
        var skip = await _client.CreateScheduleAsync("sched-skip", EveryMinute("skip", ScheduleOverlapPolicy.Skip));
        var buffer = await _client.CreateScheduleAsync("sched-buffer", EveryMinute("buffer", ScheduleOverlapPolicy.BufferOne));
        _time.Advance(TimeSpan.FromSeconds(30));
        await WaitForAsync(skip, d => d.Info.NumActions == 1);
        await WaitForAsync(buffer, d => d.Info.NumActions == 1);
        _time.Advance(TimeSpan.FromMinutes(1));
        var skipped = await WaitForAsync(skip, d => d.Info.NumActionsSkippedOverlap == 1);
        Assert.Equal(1, skipped.Info.NumActions);
        Assert.Equal(1, skipped.Info.NumActionsSkippedOverlap);

        var first = (ScheduleActionExecutionStartWorkflow)(await buffer.DescribeAsync()).Info.RecentActions.First().Action;
        await _client.GetWorkflowHandle(first.WorkflowId).TerminateAsync("done");
        var buffered = await WaitForAsync(buffer, d => d.Info.NumActions == 2);
        Assert.Equal(2, buffered.Info.NumActions);
        Assert.Equal("buffer-2030-01-01T00:02:00Z", ((ScheduleActionExecutionStartWorkflow)buffered.Info.RecentActions.Last().Action).WorkflowId);
    }

    [Fact]
    public async Task TerminateOther_ReplacesTheRunningWorkflow()
    {
        var handle = await _client.CreateScheduleAsync("sched-terminate", EveryMinute("term", ScheduleOverlapPolicy.TerminateOther));
        _time.Advance(TimeSpan.FromSeconds(30));
        await WaitForAsync(handle, d => d.Info.NumActions == 1);
        _time.Advance(TimeSpan.FromMinutes(1));
        var described = await WaitForAsync(handle, d => d.Info.NumActions == 2);
        Assert.Equal(2, described.Info.NumActions);
        var firstRun = await _client.GetWorkflowHandle("term-2030-01-01T00:01:00Z").DescribeAsync();
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated, firstRun.Status);
    }

    [Fact]
    public async Task Schedule_SurvivesRestart_AndFiresWhatCameDueWithoutRepeating()
    {
        var handle = await _client.CreateScheduleAsync("sched-restart", EveryMinute("restart", ScheduleOverlapPolicy.AllowAll));
        _time.Advance(TimeSpan.FromSeconds(30));
        await WaitForAsync(handle, d => d.Info.NumActions == 1);
        await _server.DisposeAsync();
        _time.Advance(TimeSpan.FromMinutes(2));
        await StartServerAsync();
        handle = _client.GetScheduleHandle("sched-restart");
        var described = await WaitForAsync(handle, d => d.Info.NumActions == 3);
        Assert.Equal(3, described.Info.NumActions);
        Assert.Equal(
            ["restart-2030-01-01T00:01:00Z", "restart-2030-01-01T00:02:00Z", "restart-2030-01-01T00:03:00Z"],
            described.Info.RecentActions.Select(a => ((ScheduleActionExecutionStartWorkflow)a.Action).WorkflowId));
    }

    [Theory]
    [InlineData("cron_string[0]")]
    [InlineData("CatchupWindow")]
    public async Task BadSchedule_IsInvalidArgumentNamingTheProblem(string expected)
    {
        var schedule = EveryMinute("bad", ScheduleOverlapPolicy.Skip);
        schedule = expected == "CatchupWindow"
            ? schedule with { Policy = new SchedulePolicy { CatchupWindow = TimeSpan.FromSeconds(1) } }
            : schedule with { Spec = new ScheduleSpec { CronExpressions = ["61 * * * *"] } };
        var e = await Assert.ThrowsAsync<RpcException>(() => _client.CreateScheduleAsync("sched-bad", schedule));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
