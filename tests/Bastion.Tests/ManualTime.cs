namespace Bastion.Tests;

/// <summary>A clock that moves only when the test says so (no timers: for code that only reads the time).</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
