namespace Bastion.Storage;

/// <summary>
/// What one provider transaction writes: state transitions (each all or nothing with the others) and audit records
/// (the calls' records riding those transitions, and records on their own), appended to the chain in list order.
/// </summary>
public sealed record CommitBatch(IReadOnlyList<Transition> Transitions, IReadOnlyList<PendingAudit> Audit);

/// <summary>
/// One state change that lands whole or not at all: the run writes of one workflow transition (a run that
/// continues as new writes two), the schedule whose action it is, or a namespace or identity record.
/// </summary>
public sealed record Transition(IReadOnlyList<ExecutionWrite> Writes)
{
    /// <summary>A schedule's new state, committed with the run its action starts.</summary>
    public ScheduleWrite? Schedule { get; init; }

    /// <summary>A namespace record written (or deleted) by this transition.</summary>
    public NamespaceWrite? Namespace { get; init; }

    /// <summary>An identity record written (or deleted) by this transition.</summary>
    public IdentityWrite? Identity { get; init; }
}

/// <summary>A namespace record to store, or (<see cref="Deletes"/>) to remove by its id.</summary>
public sealed record NamespaceWrite(NamespaceRecord Record, bool Deletes = false);

/// <summary>An identity record to store, or (<see cref="Deletes"/>) to remove by kind and id.</summary>
public sealed record IdentityWrite(IdentityRecord Record, bool Deletes = false);

/// <summary>
/// The outcome of <see cref="IStorageProvider.CommitAsync"/>: one entry per transition, null when it was not the
/// reason for a rollback. When any entry is not null, nothing of the batch was written.
/// </summary>
public sealed record CommitResult(IReadOnlyList<Exception?> Rejected)
{
    public bool Committed => Rejected.All(r => r is null);
}
