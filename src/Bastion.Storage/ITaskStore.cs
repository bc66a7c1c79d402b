namespace Bastion.Storage;

/// <summary>The durable tasks of a shard (written by commits, processed after them), read in pages by due time.</summary>
public interface ITaskStore
{
    /// <summary>
    /// Up to <paramref name="limit"/> tasks of a shard due before <paramref name="before"/>, in (due time, key) order,
    /// after <paramref name="after"/> when given: a shard's owner reads what falls due soon, a window at a time,
    /// instead of holding every pending task in memory.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> ReadTasksAsync(int shardId, TaskCursor? after, DateTime before, int limit, CancellationToken cancellationToken);
}

/// <summary>Where a page of tasks ended: the last task's due time and key.</summary>
public sealed record TaskCursor(DateTime VisibleTime, TaskKey Key)
{
    public static TaskCursor Of(TaskRecord task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new(task.VisibleTime, task.Key);
    }
}
