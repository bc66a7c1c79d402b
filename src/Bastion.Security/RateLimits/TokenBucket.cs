namespace Bastion.Security.RateLimits;

/// <summary>
/// A token bucket refilled continuously at <see cref="Rate"/> up to <see cref="Burst"/>. Unlike
/// <c>System.Threading.RateLimiting</c>'s bucket it takes fractional rates, changes its rate in place, and can be
/// charged into debt (down to minus one burst): work that is done already (a worker's completion) is paid for
/// without being refused, and the calls after it wait for the debt to be repaid.
/// </summary>
public sealed class TokenBucket(double rate, double burst, TimeProvider time)
{
    private readonly Lock _gate = new();
    private double _tokens = burst;
    private long _stamp = time.GetTimestamp();

    public double Rate { get; private set; } = rate;

    public double Burst { get; private set; } = burst;

    /// <summary>
    /// Takes <paramref name="cost"/> tokens if the bucket holds them (a full bucket pays even a cost above its burst,
    /// into debt); false, nothing taken, otherwise.
    /// </summary>
    public bool TryTake(double cost)
    {
        lock (_gate)
        {
            Refill();
            if (_tokens < Math.Min(cost, Burst))
            {
                return false;
            }

            _tokens = Math.Max(_tokens - cost, -Burst);
            return true;
        }
    }

    /// <summary>Takes <paramref name="cost"/> tokens whatever the balance; the balance does not fall below minus one burst.</summary>
    public void Charge(double cost)
    {
        lock (_gate)
        {
            Refill();
            _tokens = Math.Max(_tokens - cost, -Burst);
        }
    }

    /// <summary>Sets a new rate and burst; tokens above the new burst are dropped.</summary>
    public void Reconfigure(double rate, double burst)
    {
        lock (_gate)
        {
            Refill();
            Rate = rate;
            Burst = burst;
            _tokens = Math.Min(_tokens, burst);
        }
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        _tokens = Math.Min(Burst, _tokens + (time.GetElapsedTime(_stamp, now).TotalSeconds * Rate));
        _stamp = now;
    }
}
