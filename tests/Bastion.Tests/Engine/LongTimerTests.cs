using Bastion.Engine.Tasks;
using Bastion.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bastion.Tests.Engine;

/// <summary>
/// Timers past .NET's limit (uint.MaxValue - 1 ms, about 49.7 days), which <see cref="ManualTime"/> refuses as
/// the system's timers do: they are armed in bounded steps and fire at their real due time.
/// </summary>
public sealed class LongTimerTests
{
    private static readonly DateTimeOffset s_start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ADueTimeOfAHundredDays_FiresAtTheHundredthDay_NotBefore()
    {
        var time = new ManualTime(s_start);
        var fired = 0;
        using var timer = LongTimer.Create(time, _ => fired++, null, TimeSpan.FromDays(100), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromDays(60));
        time.Advance(TimeSpan.FromDays(39));
        Assert.Equal(0, fired);
        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, fired);
        time.Advance(TimeSpan.FromDays(200));
        Assert.Equal(1, fired);
    }

    [Fact]
    public void APeriodOfSixtyDays_FiresEverySixtyDays()
    {
        var time = new ManualTime(s_start);
        var fired = 0;
        using var timer = LongTimer.Create(time, _ => fired++, null, TimeSpan.FromDays(60), TimeSpan.FromDays(60));

        for (var day = 0; day < 120; day++)
        {
            time.Advance(TimeSpan.FromDays(1));
        }

        Assert.Equal(2, fired);
    }

    [Fact]
    public async Task DelayAsync_WaitsPastTheLimit()
    {
        var time = new ManualTime(s_start);
        var delay = LongTimer.DelayAsync(TimeSpan.FromDays(70), time, CancellationToken.None);
        time.Advance(TimeSpan.FromDays(69));
        Assert.False(delay.IsCompleted);
        time.Advance(TimeSpan.FromDays(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task TimerQueue_AWorkflowTimerOfAHundredDays_FiresWhenDue()
    {
        var time = new ManualTime(s_start);
        var fired = new TaskCompletionSource<TaskRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var queue = new TimerQueue(time, t => { fired.TrySetResult(t); return Task.CompletedTask; }, NullLogger.Instance);
        var task = new TaskRecord(0, "ns", "wf", "run", 1, 5, 0, s_start.UtcDateTime.AddDays(100), null);

        queue.Add(task);
        time.Advance(TimeSpan.FromDays(99));
        Assert.False(fired.Task.IsCompleted);
        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(task, await fired.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
