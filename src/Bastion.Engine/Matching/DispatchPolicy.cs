namespace Bastion.Engine.Matching;

/// <summary>
/// How a task queue partition orders its backlog, as Temporal's matching does: by priority level when
/// <see cref="UsePriority"/> (<c>matching.useNewMatcher</c>; lower key first, FIFO within a level), then — when
/// <see cref="Fairness"/> (<c>matching.enableFairness</c>) — by fairness key in proportion to the keys' weights
/// (<see cref="Overrides"/>, UpdateTaskQueueConfig's weight overrides, win over a task's own weight), each key held to
/// <see cref="KeyRate"/> times its weight tasks a second (the fairness-key default rate limit, this partition's share).
/// Immutable: a change replaces the partition's policy.
/// </summary>
internal sealed record DispatchPolicy(bool UsePriority, int Levels, bool Fairness, double? KeyRate, IReadOnlyDictionary<string, float>? Overrides)
{
    /// <summary>Temporal's default number of levels (<c>matching.priorityLevels</c>).</summary>
    public const int DefaultLevels = 5;

    public static readonly DispatchPolicy Default = new(UsePriority: true, DefaultLevels, Fairness: false, KeyRate: null, Overrides: null);

    /// <summary>The level of an unset priority key: the middle one (3 of 5), as Temporal's.</summary>
    public int DefaultLevel => (Levels + 1) / 2;

    /// <summary>
    /// The backlog level of <paramref name="item"/>: 0 for a query task (it goes ahead of every task, as before
    /// priorities), else its priority key within 1..<see cref="Levels"/> (unset: <see cref="DefaultLevel"/>; beyond the
    /// last: the last); every task at the default level when priorities are off.
    /// </summary>
    public int LevelOf(MatchItem item)
    {
        if (item is QueryTaskItem)
        {
            return 0;
        }

        var key = item.Priority.Key;
        return !UsePriority || key <= 0 ? DefaultLevel : Math.Min(key, Levels);
    }
}
