namespace Bastion.Storage;

/// <summary>Where schedules are kept; written only by transitions (<see cref="Transition.Schedule"/>), with the runs their actions start.</summary>
public interface IScheduleStore
{
    Task<ScheduleRecord?> GetScheduleAsync(string namespaceId, string scheduleId, CancellationToken cancellationToken);

    /// <summary>Every schedule of a namespace.</summary>
    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string namespaceId, CancellationToken cancellationToken);

    /// <summary>
    /// The schedules of one shard (its owner runs them), and with <paramref name="withUnassigned"/> those written before
    /// schedules had shards (stored without one until their next write records it).
    /// </summary>
    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesOfShardAsync(int shardId, bool withUnassigned, CancellationToken cancellationToken);
}
