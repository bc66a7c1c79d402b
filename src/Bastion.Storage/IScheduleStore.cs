namespace Bastion.Storage;

/// <summary>Where schedules are kept; written only by transitions (<see cref="Transition.Schedule"/>), with the runs their actions start.</summary>
public interface IScheduleStore
{
    Task<ScheduleRecord?> GetScheduleAsync(string namespaceId, string scheduleId, CancellationToken cancellationToken);

    /// <summary>Every schedule of a namespace, or of all namespaces when <paramref name="namespaceId"/> is null (start-up).</summary>
    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string? namespaceId, CancellationToken cancellationToken);
}
