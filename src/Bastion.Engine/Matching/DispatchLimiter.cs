using Temporalio.Api.Enums.V1;

namespace Bastion.Engine.Matching;

/// <summary>
/// The dispatch rate limit of one task queue partition (all its version sub-queues share it), as Temporal's matching
/// keeps one per partition: the limit set by UpdateTaskQueueConfig when there is one, else the
/// <c>max_tasks_per_second</c> the last poll carried (a worker's <c>MaxTaskQueueActivitiesPerSecond</c>), divided among
/// the queue's partitions; none: no limit (Bastion has no system default). A token bucket on the server's
/// <see cref="TimeProvider"/> whose burst is one second of tasks (at least one), full at the start, as Temporal's.
/// </summary>
internal sealed class DispatchLimiter(TimeProvider time)
{
    private readonly Lock _lock = new();
    private double? _apiRate;
    private double? _workerRate;
    private int _partitions = 1;
    private double _tokens = double.NaN;
    private DateTimeOffset _refilledAt;

    /// <summary>The whole queue's effective rate and where it comes from; null when nothing limits the queue.</summary>
    public (double Rate, RateLimitSource Source)? Effective
    {
        get
        {
            lock (_lock)
            {
                return _apiRate is { } api ? (api, RateLimitSource.Api) : _workerRate is { } worker ? (worker, RateLimitSource.Worker) : null;
            }
        }
    }

    /// <summary>Sets the limit UpdateTaskQueueConfig set (null: none) and the queue's partition count.</summary>
    public void SetApiRate(double? rate, int partitions)
    {
        lock (_lock)
        {
            _apiRate = rate;
            _partitions = Math.Max(1, partitions);
        }
    }

    /// <summary>The rate the last poll asked for (null: the poll set none, which clears it, as in Temporal).</summary>
    public void SetWorkerRate(double? rate)
    {
        lock (_lock)
        {
            _workerRate = rate;
        }
    }

    /// <summary>True when one task may be dispatched now (a token is taken); always true without a limit.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            if (PartitionRate() is not { } rate)
            {
                return true;
            }

            Refill(rate);
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }

    /// <summary>Gives back a token taken for a task that was not dispatched after all.</summary>
    public void Refund()
    {
        lock (_lock)
        {
            if (PartitionRate() is { } rate && !double.IsNaN(_tokens))
            {
                _tokens = Math.Min(Burst(rate), _tokens + 1);
            }
        }
    }

    /// <summary>How long until the next token; null when none will come (a limit of zero).</summary>
    public TimeSpan? UntilNext()
    {
        lock (_lock)
        {
            if (PartitionRate() is not { } rate)
            {
                return TimeSpan.Zero;
            }

            if (rate <= 0)
            {
                return null;
            }

            Refill(rate);
            return _tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / rate);
        }
    }

    /// <summary>One second of tasks, at least one; none for a limit of zero (nothing is dispatched), as Temporal's.</summary>
    private static double Burst(double rate) => rate <= 0 ? 0 : Math.Max(1, Math.Ceiling(rate));

    private double? PartitionRate() => (_apiRate ?? _workerRate) is { } whole ? whole / _partitions : null;

    private void Refill(double rate)
    {
        var burst = Burst(rate);
        var now = time.GetUtcNow();
        if (double.IsNaN(_tokens))
        {
            _tokens = burst;
        }
        else if (now > _refilledAt)
        {
            _tokens = Math.Min(burst, _tokens + ((now - _refilledAt).TotalSeconds * rate));
        }

        _refilledAt = now > _refilledAt ? now : _refilledAt; // a clock stepped back accrues nothing until it catches up
    }
}
