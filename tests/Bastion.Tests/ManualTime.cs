namespace Bastion.Tests;

/// <summary>
/// A clock the test moves by hand; its timers fire when <see cref="Advance"/> passes their due time. Like the
/// system's timers, a due time or period over <c>uint.MaxValue - 1</c> ms is refused.
/// </summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private static readonly TimeSpan s_maxTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;
    private int _fired;

    /// <summary>How many times a timer's callback has run.</summary>
    public int Fired => Volatile.Read(ref _fired);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_lock)
        {
            _now += by;
            due = [.. _timers.Where(t => t.Due <= _now)];
        }

        foreach (var timer in due)
        {
            timer.Fire(GetUtcNow());
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state, period);
        timer.Change(dueTime, period);
        return timer;
    }

    private static void CheckRange(TimeSpan value, string name)
    {
        if (value != Timeout.InfiniteTimeSpan && (value < TimeSpan.Zero || value > s_maxTimer))
        {
            throw new ArgumentOutOfRangeException(name, value, "Timers take at most uint.MaxValue - 1 milliseconds.");
        }
    }

    private sealed class ManualTimer(ManualTime owner, TimerCallback callback, object? state, TimeSpan period) : ITimer
    {
        private TimeSpan _period = period;

        public DateTimeOffset Due { get; private set; } = DateTimeOffset.MaxValue;

        public void Fire(DateTimeOffset now)
        {
            Due = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? now + _period : DateTimeOffset.MaxValue;
            Interlocked.Increment(ref owner._fired);
            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            CheckRange(dueTime, nameof(dueTime));
            CheckRange(period, nameof(period));
            _period = period;
            lock (owner._lock)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : owner._now + dueTime;
                if (!owner._timers.Contains(this))
                {
                    owner._timers.Add(this);
                }
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
