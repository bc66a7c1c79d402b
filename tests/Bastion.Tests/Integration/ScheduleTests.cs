using Bastion.Server;
using Temporalio.Client;
using Temporalio.Client.Schedules;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;
using ScheduleOverlapPolicy = Temporalio.Api.Enums.V1.ScheduleOverlapPolicy;

namespace Bastion.Tests.Integration;

/// <summary>
/// Schedules through the official SDK against a real server on fake time. Without a worker started workflows stay
/// running; the tests that need runs to close or fail run an SDK worker with <see cref="Waiter"/> or <see cref="Failer"/>.
/// </summary>
public sealed class ScheduleTests : IAsyncLifetime
{
    private const string TaskQueue = "schedule-queue";

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

    /// <summary>Waits until finished; a cancel request makes it linger until finished anyway, then close as cancelled.</summary>
    [Workflow]
    public sealed class Waiter
    {
        private bool _finish;

        [WorkflowRun]
        public async Task RunAsync()
        {
            try
            {
                await Workflow.WaitConditionAsync(() => _finish);
            }
            catch (Exception e) when (TemporalException.IsCanceledException(e))
            {
                // Lingering keeps the cancelled run open, so a test can see the schedule wait for its close.
                await Workflow.WaitConditionAsync(() => _finish, CancellationToken.None);
                throw;
            }
        }

        [WorkflowSignal]
        public Task FinishAsync()
        {
            _finish = true;
            return Task.CompletedTask;
        }
    }

    /// <summary>Fails at once (no retry policy on the schedule's action: the run closes as failed).</summary>
    [Workflow]
    public sealed class Failer
    {
        [WorkflowRun]
        public Task RunAsync() => throw new ApplicationFailureException("boom");
    }

    private static Schedule EveryMinuteWaiter(string workflowId, ScheduleOverlapPolicy overlap) => new(
        ScheduleActionStartWorkflow.Create((Waiter wf) => wf.RunAsync(), new WorkflowOptions(workflowId, TaskQueue)),
        new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromMinutes(1))] })
    {
        Policy = new SchedulePolicy { Overlap = overlap },
    };

    /// <summary>
    /// Reports what it was started with: the first run returns 1; a run that sees last result 1 and no failure fails;
    /// a run that sees that failure beside last result 1 returns 11 (so its result proves it received both).
    /// </summary>
    [Workflow]
    public sealed class Chain
    {
        [WorkflowRun]
        public Task<int> RunAsync()
        {
            var last = Workflow.Info.LastResult is { Count: > 0 } results
                ? (int)Workflow.PayloadConverter.ToValue(results.First().Payload, typeof(int))! : 0;
            return Task.FromResult((last, Workflow.Info.LastFailure?.Message) switch
            {
                (0, null) => 1,
                (1, null) => throw new ApplicationFailureException("after 1"),
                (1, "after 1") => 11,
                var other => throw new ApplicationFailureException($"unexpected {other}"),
            });
        }
    }

    private TemporalWorker NewWorker() =>
        new(_client, new TemporalWorkerOptions(TaskQueue).AddWorkflow<Waiter>().AddWorkflow<Failer>().AddWorkflow<Chain>());

    /// <summary>Polls until the condition holds (bounded); the caller asserts on what it sees afterwards.</summary>
    private static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.HoldsAsync(condition);

    private static string WorkflowIdOf(ScheduleActionResult action) => ((ScheduleActionExecutionStartWorkflow)action.Action).WorkflowId;

    /// <summary>Starts waiting for their overlap policy (not in the SDK's ScheduleInfo: read through the raw service).</summary>
    private async Task<long> BufferSizeAsync(string scheduleId) =>
        (await _client.WorkflowService.DescribeScheduleAsync(new() { Namespace = "default", ScheduleId = scheduleId })).Info.BufferSize;

    private static IEnumerable<string> RunningIds(ScheduleDescription description) =>
        description.Info.RunningActions.Select(r => ((ScheduleActionExecutionStartWorkflow)r).WorkflowId);

    private Task FinishAsync(string workflowId) => _client.GetWorkflowHandle<Waiter>(workflowId).SignalAsync(wf => wf.FinishAsync());

    private async Task<Temporalio.Api.Enums.V1.WorkflowExecutionStatus> StatusAsync(string workflowId) =>
        (await _client.GetWorkflowHandle(workflowId).DescribeAsync()).Status;

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

    [Fact]
    public async Task CancelOther_AsksTheRunningWorkflowToCancel_AndStartsTheLatestOnlyOnceItClosed()
    {
        using var worker = NewWorker();
        await worker.ExecuteAsync(async () =>
        {
            var handle = await _client.CreateScheduleAsync("sched-cancel", EveryMinuteWaiter("cancel", ScheduleOverlapPolicy.CancelOther));
            _time.Advance(TimeSpan.FromSeconds(30));
            await WaitForAsync(handle, d => d.Info.NumActions == 1);
            _time.Advance(TimeSpan.FromMinutes(1));

            // The first run got the cancel request but lingers: the second action waits in the buffer.
            const string first = "cancel-2030-01-01T00:01:00Z";
            var cancelRequested = false;
            await WaitUntilAsync(async () =>
            {
                var history = await _client.GetWorkflowHandle(first).FetchHistoryAsync();
                cancelRequested = history.Events.Any(e => e.EventType == Temporalio.Api.Enums.V1.EventType.WorkflowExecutionCancelRequested);
                return cancelRequested;
            });
            Assert.True(cancelRequested);
            await WaitUntilAsync(async () => await BufferSizeAsync("sched-cancel") == 1);
            Assert.Equal(1, await BufferSizeAsync("sched-cancel"));
            Assert.Equal(1, (await handle.DescribeAsync()).Info.NumActions);
            Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Running, await StatusAsync(first));

            // Another action comes due while the cancel is pending: it waits too, and (as in Temporal) replaces the
            // earlier waiting one, so only the latest starts once the first run closed.
            _time.Advance(TimeSpan.FromMinutes(1));
            await WaitUntilAsync(async () => await BufferSizeAsync("sched-cancel") == 2);
            Assert.Equal(2, await BufferSizeAsync("sched-cancel"));
            Assert.Equal(1, (await handle.DescribeAsync()).Info.NumActions);

            await FinishAsync(first);
            var described = await WaitForAsync(handle, d => d.Info.NumActions == 2);
            Assert.Equal(2, described.Info.NumActions);
            Assert.Equal(0, await BufferSizeAsync("sched-cancel"));
            Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Canceled, await StatusAsync(first));
            Assert.Equal([first, "cancel-2030-01-01T00:03:00Z"], described.Info.RecentActions.Select(WorkflowIdOf));
            Assert.Equal("cancel-2030-01-01T00:03:00Z", Assert.Single(RunningIds(described)));
        });
    }

    [Fact]
    public async Task BufferAll_BuffersEveryActionDueWhileOneRuns_AndStartsThemOneAfterAnother()
    {
        using var worker = NewWorker();
        await worker.ExecuteAsync(async () =>
        {
            var handle = await _client.CreateScheduleAsync("sched-buffer-all", EveryMinuteWaiter("all", ScheduleOverlapPolicy.BufferAll));
            _time.Advance(TimeSpan.FromSeconds(30));
            await WaitForAsync(handle, d => d.Info.NumActions == 1);
            for (var buffered = 1; buffered <= 3; buffered++)
            {
                _time.Advance(TimeSpan.FromMinutes(1));
                var expected = buffered;
                await WaitUntilAsync(async () => await BufferSizeAsync("sched-buffer-all") == expected);
            }

            var described = await handle.DescribeAsync();
            Assert.Equal(1, described.Info.NumActions);
            Assert.Equal(3, await BufferSizeAsync("sched-buffer-all"));
            Assert.Equal(0, described.Info.NumActionsSkippedOverlap);

            // Each close starts exactly the next buffered action, in order.
            string[] expectedIds = ["all-2030-01-01T00:01:00Z", "all-2030-01-01T00:02:00Z", "all-2030-01-01T00:03:00Z", "all-2030-01-01T00:04:00Z"];
            for (var i = 1; i < expectedIds.Length; i++)
            {
                await FinishAsync(expectedIds[i - 1]);
                var started = i + 1;
                described = await WaitForAsync(handle, d => d.Info.NumActions == started);
                Assert.Equal(started, described.Info.NumActions);
                Assert.Equal(expectedIds.Length - started, await BufferSizeAsync("sched-buffer-all"));
                Assert.Equal(expectedIds[i], Assert.Single(RunningIds(described)));
            }

            Assert.Equal(expectedIds, described.Info.RecentActions.Select(WorkflowIdOf));
        });
    }

    [Fact]
    public async Task AllowAll_StartsWhileAnotherRuns()
    {
        var handle = await _client.CreateScheduleAsync("sched-allow", EveryMinute("allow", ScheduleOverlapPolicy.AllowAll));
        _time.Advance(TimeSpan.FromSeconds(30));
        await WaitForAsync(handle, d => d.Info.NumActions == 1);
        _time.Advance(TimeSpan.FromMinutes(1));
        var described = await WaitForAsync(handle, d => d.Info.NumActions == 2);
        Assert.Equal(2, described.Info.NumActions);
        Assert.Equal(0, await BufferSizeAsync("sched-allow"));
        Assert.Equal(
            ["allow-2030-01-01T00:01:00Z", "allow-2030-01-01T00:02:00Z"],
            RunningIds(described).Order(StringComparer.Ordinal));
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Running, await StatusAsync("allow-2030-01-01T00:01:00Z"));
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Running, await StatusAsync("allow-2030-01-01T00:02:00Z"));
    }

    [Fact]
    public async Task PauseOnFailure_AFailedRunPausesTheScheduleWithANote()
    {
        using var worker = NewWorker();
        await worker.ExecuteAsync(async () =>
        {
            var schedule = new Schedule(
                ScheduleActionStartWorkflow.Create((Failer wf) => wf.RunAsync(), new WorkflowOptions("fail", TaskQueue)),
                new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromMinutes(1))] })
            {
                Policy = new SchedulePolicy { PauseOnFailure = true },
            };
            var handle = await _client.CreateScheduleAsync("sched-fail", schedule);
            _time.Advance(TimeSpan.FromSeconds(30));
            var described = await WaitForAsync(handle, d => d.Schedule.State.Paused);
            Assert.True(described.Schedule.State.Paused);
            Assert.Equal("paused due to workflow failure: fail-2030-01-01T00:01:00Z: boom", described.Schedule.State.Note);
            Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Failed, await StatusAsync("fail-2030-01-01T00:01:00Z"));
            Assert.Equal(1, described.Info.NumActions);
            Assert.Equal(new DateTime(2030, 1, 1, 0, 2, 0, DateTimeKind.Utc), described.Info.NextActionTimes.First()); // shown while paused, as in Temporal
            Assert.Empty(described.Info.RunningActions);
        });
    }

    [Fact]
    public async Task ActionRuns_ReceiveTheLastResult_AndTheLastFailureBesideIt()
    {
        using var worker = NewWorker();
        await worker.ExecuteAsync(async () =>
        {
            var schedule = new Schedule(
                ScheduleActionStartWorkflow.Create((Chain wf) => wf.RunAsync(), new WorkflowOptions("chain", TaskQueue)),
                new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromMinutes(1))] })
            {
                Policy = new SchedulePolicy { Overlap = ScheduleOverlapPolicy.BufferAll },
            };
            var handle = await _client.CreateScheduleAsync("sched-chain", schedule);
            foreach (var (minute, status) in new[]
            {
                (1, Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Completed),
                (2, Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Failed),
                (3, Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Completed),
            })
            {
                _time.Advance(minute == 1 ? TimeSpan.FromSeconds(30) : TimeSpan.FromMinutes(1));
                var id = $"chain-2030-01-01T00:0{minute}:00Z";
                await WaitForAsync(handle, d => d.Info.NumActions == minute && d.Info.RunningActions.Count == 0);
                Assert.Equal(status, await StatusAsync(id));
            }

            Assert.Equal(11, await _client.GetWorkflowHandle("chain-2030-01-01T00:03:00Z").GetResultAsync<int>());
        });
    }

    [Fact]
    public async Task RemainingActions_TakesExactlyThatMany_SkippedOverlapsDoNotCount()
    {
        var schedule = EveryMinute("limited", ScheduleOverlapPolicy.Skip) with
        {
            State = new Temporalio.Client.Schedules.ScheduleState { LimitedActions = true, RemainingActions = 2 },
        };
        var handle = await _client.CreateScheduleAsync("sched-limited", schedule);
        _time.Advance(TimeSpan.FromSeconds(30));
        await WaitForAsync(handle, d => d.Info.NumActions == 1);

        // 00:02 comes due while 00:01 runs: skipped, and (as in Temporal) not taken from the budget.
        _time.Advance(TimeSpan.FromMinutes(1));
        var described = await WaitForAsync(handle, d => d.Info.NumActionsSkippedOverlap == 1);
        Assert.Equal(1, described.Info.NumActionsSkippedOverlap);
        Assert.Equal(1, described.Schedule.State.RemainingActions);

        await _client.GetWorkflowHandle("limited-2030-01-01T00:01:00Z").TerminateAsync("done");
        _time.Advance(TimeSpan.FromMinutes(1));
        // The start commits before the pass that recomputes the next times: wait for both.
        described = await WaitForAsync(handle, d => d.Info.NumActions == 2 && d.Info.NextActionTimes.Count == 0);
        Assert.Equal(2, described.Info.NumActions);
        Assert.Equal(0, described.Schedule.State.RemainingActions);
        Assert.Empty(described.Info.NextActionTimes);

        // Out of actions: nothing more starts even with nothing running.
        await _client.GetWorkflowHandle("limited-2030-01-01T00:03:00Z").TerminateAsync("done");
        await WaitForAsync(handle, d => d.Info.RunningActions.Count == 0);
        _time.Advance(TimeSpan.FromMinutes(2));
        await handle.TriggerAsync();
        described = await WaitForAsync(handle, d => d.Info.NumActions == 3);

        // The trigger (manual, outside the budget) is the only action after the budget ran out.
        Assert.Equal(3, described.Info.NumActions);
        Assert.Equal(0, described.Schedule.State.RemainingActions);
        Assert.Equal(
            ["limited-2030-01-01T00:01:00Z", "limited-2030-01-01T00:03:00Z", "limited-2030-01-01T00:05:00Z"],
            described.Info.RecentActions.Select(WorkflowIdOf));
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

    private static ScheduleActionStartWorkflow Sleeper(string workflowId) =>
        ScheduleActionStartWorkflow.Create("Sleeper", Array.Empty<object?>(), new WorkflowOptions(workflowId, TaskQueue));

    /// <summary>As the .NET SDK's own schedule test asserts against Temporal: cron becomes a calendar, ranges are written out in full.</summary>
    [Fact]
    public async Task Describe_ReadsCalendarsAndCronBackWrittenOut_AsTemporal()
    {
        var calendar = new ScheduleCalendarSpec
        {
            Second = [new ScheduleRange(1)],
            Minute = [new ScheduleRange(2, 3)],
            Hour = [new ScheduleRange(4, 5, 6)],
            DayOfMonth = [new ScheduleRange(7)],
            Month = [new ScheduleRange(9)],
            Year = [new ScheduleRange(2080)],
            Comment = "spec comment 1",
        };
        var spec = new ScheduleSpec
        {
            Calendars = [calendar],
            Intervals = [new ScheduleIntervalSpec(TimeSpan.FromDays(10), TimeSpan.FromDays(2))],
            CronExpressions = ["0 12 * * MON"],
            Skip = [new ScheduleCalendarSpec { Year = [new ScheduleRange(2050)] }],
            StartAt = new DateTime(2060, 7, 8, 9, 10, 11, DateTimeKind.Utc),
            Jitter = TimeSpan.FromSeconds(80),
        };
        var handle = await _client.CreateScheduleAsync("sched-spec", new Schedule(Sleeper("spec"), spec) { State = new ScheduleState { Paused = true } });

        var described = await handle.DescribeAsync();
        var expected = spec with
        {
            CronExpressions = [],
            Calendars =
            [
                calendar,
                new ScheduleCalendarSpec
                {
                    Second = [new ScheduleRange(0)],
                    Minute = [new ScheduleRange(0)],
                    Hour = [new ScheduleRange(12)],
                    DayOfMonth = [new ScheduleRange(1, 31)],
                    Month = [new ScheduleRange(1, 12)],
                    DayOfWeek = [new ScheduleRange(1)],
                },
            ],
        };
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected), System.Text.Json.JsonSerializer.Serialize(described.Schedule.Spec));

        // A range as the wire allows it (End and Step left 0) reads back written out too.
        var raw = await _client.WorkflowService.DescribeScheduleAsync(new() { Namespace = "default", ScheduleId = "sched-spec" });
        Assert.All(raw.Schedule.Spec.StructuredCalendar.SelectMany(c => c.Second.Concat(c.Hour).Concat(c.DayOfWeek)), r => Assert.True(r.End >= r.Start && r.Step >= 1));
    }

    /// <summary>As Temporal, a paused schedule still shows its next times: 10 in describe, 5 in the list.</summary>
    [Fact]
    public async Task PausedSchedule_StillShowsItsNextTimes()
    {
        var handle = await _client.CreateScheduleAsync(
            "sched-paused",
            new Schedule(Sleeper("paused"), new ScheduleSpec { Calendars = [new ScheduleCalendarSpec()] }) { State = new ScheduleState { Paused = true } });

        var described = await handle.DescribeAsync();
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(new ScheduleCalendarSpec()), System.Text.Json.JsonSerializer.Serialize(Assert.Single(described.Schedule.Spec.Calendars)));
        var midnight = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.Equal(Enumerable.Range(1, 10).Select(d => midnight.AddDays(d)), described.Info.NextActionTimes);

        var listed = new List<ScheduleListDescription>();
        await foreach (var entry in _client.ListSchedulesAsync(new ScheduleListOptions { Query = "ScheduleId = 'sched-paused'" }))
        {
            listed.Add(entry);
        }

        Assert.Equal(Enumerable.Range(1, 5).Select(d => midnight.AddDays(d)), Assert.Single(listed).Info!.NextActionTimes);
    }

    /// <summary>A next time decades ahead is past what a .NET timer takes (about 49.7 days): armed in steps, it still comes.</summary>
    [Fact]
    public async Task AScheduleStartingDecadesAhead_IsCreated_AndActsWhenItsTimeComes()
    {
        var startAt = new DateTime(2060, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var handle = await _client.CreateScheduleAsync(
            "sched-far",
            new Schedule(Sleeper("far"), new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromHours(1))], StartAt = startAt }));
        Assert.Equal(startAt, (await handle.DescribeAsync()).Info.NextActionTimes.First());

        _time.Advance(startAt - s_start.UtcDateTime + TimeSpan.FromSeconds(30));
        var described = await WaitForAsync(handle, d => d.Info.NumActions == 1);
        Assert.Equal("far-2060-01-01T00:00:00Z", WorkflowIdOf(Assert.Single(described.Info.RecentActions)));
    }
}
