namespace Bastion.Storage;

/// <summary>Where schedules are kept; written only through the group committer, with the runs their actions start.</summary>
public interface IScheduleStore
{
    ScheduleRecord? GetSchedule(string namespaceId, string scheduleId);

    /// <summary>Every schedule of a namespace, or of all namespaces when <paramref name="namespaceId"/> is null (start-up).</summary>
    IReadOnlyList<ScheduleRecord> ListSchedules(string? namespaceId);

    /// <summary>
    /// <see cref="IExecutionStore.Commit"/> where transition i also writes <paramref name="schedules"/>[i] (when not
    /// null), plus the audit records <paramref name="audit"/> returns (see <see cref="IAuditStore.CommitWithAudit"/>),
    /// in one transaction.
    /// </summary>
    IReadOnlyList<Exception?> CommitWithSchedules(
        IReadOnlyList<IReadOnlyList<ExecutionWrite>> transitions,
        IReadOnlyList<ScheduleWrite?> schedules,
        Func<IReadOnlyList<Exception?>, IReadOnlyList<PendingAudit>>? audit);
}
