namespace Bastion.Engine.Tasks;

/// <summary>
/// How long an <see cref="ITimer"/> is set to wait. A timer cannot wait more than 2^32-2 ms (~49.7 days): one due
/// further off is set for a week, wakes early, finds nothing due and is set again.
/// </summary>
internal static class TimerWait
{
    private static readonly TimeSpan s_longest = TimeSpan.FromDays(7);

    public static TimeSpan For(TimeSpan due) => due <= TimeSpan.Zero ? TimeSpan.Zero : due < s_longest ? due : s_longest;
}
