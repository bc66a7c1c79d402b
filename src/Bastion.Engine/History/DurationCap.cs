namespace Bastion.Engine.History;

/// <summary>
/// Temporal's longest duration (its <c>maxAllowedDuration</c>): 100 years of 365 days. Timeouts, intervals and delays
/// beyond it are capped to it, not refused, as Temporal does; then "now + a duration" stays far from DateTime's end.
/// </summary>
public static class DurationCap
{
    public const long MaxSeconds = 100L * 365 * 24 * 3600;

    public static readonly TimeSpan Max = TimeSpan.FromSeconds(MaxSeconds);

    public static TimeSpan Apply(TimeSpan value) => value > Max ? Max : value < -Max ? -Max : value;
}
