using Bastion.Engine.Tasks;
using Bastion.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bastion.Tests.Engine;

/// <summary>The engine's alarm clock for durable tasks: what fires, when, and how often it wakes for nothing.</summary>
public sealed class TimerQueueTests
{
    private static readonly DateTimeOffset s_start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TaskRecord Task(int eventId, TimeSpan after) =>
        new(1, "ns", "wf", "run", (int)TaskKind.WorkflowTaskStartToCloseTimeout, eventId, 1, (s_start + after).UtcDateTime, null);

    /// <summary>A queue on <paramref name="time"/> that records each task it fires, and when.</summary>
    private static TimerQueue Queue(ManualTime time, List<(long EventId, DateTimeOffset At)> fired) =>
        new(time, t =>
        {
            lock (fired)
            {
                fired.Add((t.EventId, time.GetUtcNow()));
            }

            return System.Threading.Tasks.Task.CompletedTask;
        }, NullLogger.Instance);

    [Fact]
    public async Task DeletedTasks_DoNotWakeTheQueue_EachAtItsOwnTime()
    {
        var time = new ManualTime(s_start);
        var fired = new List<(long EventId, DateTimeOffset At)>();
        await using var queue = Queue(time, fired);

        // A hundred timeouts 10 ms apart, all deleted before they fall due (as a workflow task's are when it completes),
        // and one that stays.
        for (var i = 0; i < 100; i++)
        {
            var task = Task(i + 1, TimeSpan.FromSeconds(10) + TimeSpan.FromMilliseconds(10 * i));
            queue.Add(task);
            queue.Cancel(task.Key);
        }

        queue.Add(Task(1000, TimeSpan.FromSeconds(20)));

        time.Advance(TimeSpan.FromSeconds(10));
        var wakes = time.Fired;
        for (var step = 0; step < 100; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(wakes, time.Fired); // the first went off; the other 99 deleted ones were dropped with it
        Assert.Empty(fired);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal([1000L], fired.Select(f => f.EventId));
    }

    [Fact]
    public async Task ManyDeletedTasks_AreDroppedInChunks_WithoutTheClockMoving()
    {
        var time = new ManualTime(s_start);
        var fired = new List<(long EventId, DateTimeOffset At)>();
        await using var queue = Queue(time, fired);

        // Three chunks' worth deleted (as a dropped shard's are), due over 30 s, and one that stays.
        var count = (3 * TimerQueue.DropChunk) + 10;
        for (var i = 0; i < count; i++)
        {
            var task = Task(i + 1, TimeSpan.FromSeconds(10) + TimeSpan.FromMilliseconds(30_000.0 * i / count));
            queue.Add(task);
            queue.Cancel(task.Key);
        }

        queue.Add(Task(100_000, TimeSpan.FromSeconds(50)));
        time.Advance(TimeSpan.FromSeconds(10));
        var wakes = time.Fired;

        // The rest goes on the thread pool, the clock standing still.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (queue.Count > 1 && DateTime.UtcNow < deadline)
        {
            await System.Threading.Tasks.Task.Delay(10);
        }

        Assert.Equal(1, queue.Count);
        for (var second = 11; second < 50; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(wakes, time.Fired);
        Assert.Empty(fired);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([100_000L], fired.Select(f => f.EventId));
    }

    [Fact]
    public async Task ATaskAddedAgainAfterItWasDeleted_FiresAtItsNewTime_Once()
    {
        var time = new ManualTime(s_start);
        var fired = new List<(long EventId, DateTimeOffset At)>();
        await using var queue = Queue(time, fired);

        // Deleted while a live task comes due before it: the alarm at 2 s drops it, though it was due at 5 s.
        var deleted = Task(7, TimeSpan.FromSeconds(5));
        queue.Add(Task(8, TimeSpan.FromSeconds(2)));
        queue.Add(deleted);
        queue.Cancel(deleted.Key);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([8L], fired.Select(f => f.EventId));

        // Written again for a later time: it fires then, and not also at its old time.
        queue.Add(deleted with { VisibleTime = (s_start + TimeSpan.FromSeconds(30)).UtcDateTime });
        for (var second = 3; second < 30; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Single(fired);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([8L, 7L], fired.Select(f => f.EventId));
        Assert.Equal(s_start + TimeSpan.FromSeconds(30), fired[1].At);
    }
}
