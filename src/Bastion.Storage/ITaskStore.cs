namespace Bastion.Storage;

/// <summary>The durable tasks of a shard (written by commits, processed after them).</summary>
public interface ITaskStore
{
    /// <summary>Every task of a shard, by visible time (read when the shard is acquired).</summary>
    Task<IReadOnlyList<TaskRecord>> LoadTasksAsync(int shardId, CancellationToken cancellationToken);
}
