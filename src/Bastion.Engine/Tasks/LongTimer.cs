namespace Bastion.Engine.Tasks;

/// <summary>
/// A <see cref="TimeProvider"/> timer (and delay) for any due time or period. .NET timers refuse a due time or
/// period over <c>uint.MaxValue - 1</c> ms (about 49.7 days) with an <see cref="ArgumentOutOfRangeException"/>,
/// but durable timers, retention, schedules far in the future and configured intervals may be longer. So the
/// underlying timer is armed for at most <see cref="MaxArm"/> and, when it wakes before the real due time,
/// re-armed for what is left; a due time within <see cref="MaxArm"/> arms the underlying timer as is.
/// The server's timers and long waits are made here.
/// </summary>
public sealed class LongTimer : ITimer
{
    /// <summary>The longest the underlying timer is armed for at once (well below .NET's limit).</summary>
    public static readonly TimeSpan MaxArm = TimeSpan.FromDays(1);

    private readonly TimeProvider _time;
    private readonly TimerCallback _callback;
    private readonly object? _state;
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private DateTimeOffset _due = DateTimeOffset.MaxValue;
    private TimeSpan _period = Timeout.InfiniteTimeSpan;
    private bool _armedAtBound;
    private bool _disposed;

    private LongTimer(TimeProvider time, TimerCallback callback, object? state)
    {
        _time = time;
        _callback = callback;
        _state = state;
        _timer = time.CreateTimer(static self => ((LongTimer)self!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Like <see cref="TimeProvider.CreateTimer"/>, for any due time and period.</summary>
    public static ITimer Create(TimeProvider time, TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new LongTimer(time, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Like <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>, for any delay.</summary>
    public static async Task DelayAsync(TimeSpan delay, TimeProvider time, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(time);
        var due = time.GetUtcNow() + (delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
        for (var left = delay; left > TimeSpan.Zero; left = due - time.GetUtcNow())
        {
            await Task.Delay(left < MaxArm ? left : MaxArm, time, cancel).ConfigureAwait(false);
        }
    }

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            _period = period;
            _due = dueTime == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : _time.GetUtcNow() + (dueTime > TimeSpan.Zero ? dueTime : TimeSpan.Zero);
            ArmLocked();
            return true;
        }
    }

    private void ArmLocked()
    {
        if (_due == DateTimeOffset.MaxValue)
        {
            _armedAtBound = false;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var left = _due - _time.GetUtcNow();
        _armedAtBound = left > MaxArm;
        _timer.Change(_armedAtBound ? MaxArm : left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            if (_disposed || _due == DateTimeOffset.MaxValue)
            {
                return;
            }

            var now = _time.GetUtcNow();
            if (_armedAtBound && now < _due)
            {
                // Woke at the arming bound, not at the due time: arm for what is left.
                ArmLocked();
                return;
            }

            _due = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? now + _period : DateTimeOffset.MaxValue;
            ArmLocked();
        }

        _callback(_state);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _timer.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
    }
}
