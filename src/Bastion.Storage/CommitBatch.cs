namespace Bastion.Storage;

/// <summary>
/// What one provider transaction writes: state transitions and audit records (the calls' records riding those
/// transitions, account events, and records on their own), appended to their chains in list order: the provider finds
/// each chain's head inside the transaction and stores what <see cref="AuditCodec"/> seals after it.
/// </summary>
public sealed record CommitBatch(IReadOnlyList<Transition> Transitions, IReadOnlyList<AuditAppend> Audit, AuditRecordCodec? AuditCodec = null)
{
    /// <summary>A batch whose audit records all go to one chain.</summary>
    public CommitBatch(IReadOnlyList<Transition> transitions, string chain, IReadOnlyList<PendingAudit> audit, AuditRecordCodec? auditCodec = null)
        : this(transitions, audit.Count == 0 ? [] : [new AuditAppend(chain, audit)], auditCodec)
    {
    }

    /// <summary><paramref name="append"/>'s records sealed after <paramref name="head"/>, encoded for the store.</summary>
    public IReadOnlyList<StoredAuditRecord> SealAudit(AuditAppend append, AuditAnchor head)
    {
        ArgumentNullException.ThrowIfNull(append);
        return append.Records.Count == 0 ? []
            : (AuditCodec ?? throw new InvalidOperationException("A batch with audit records needs the audit codec.")).Seal(append.Chain, append.Records, head);
    }
}

/// <summary>Audit records to append to one chain, in order.</summary>
public sealed record AuditAppend(string Chain, IReadOnlyList<PendingAudit> Records);

/// <summary>
/// One state change that lands whole or not at all: the run writes of one workflow transition (a run that
/// continues as new writes two), the schedule whose action it is, or a namespace, identity, Nexus endpoint, worker deployment or task queue configuration record.
/// </summary>
public sealed record Transition(IReadOnlyList<ExecutionWrite> Writes)
{
    /// <summary>A schedule's new state, committed with the run its action starts.</summary>
    public ScheduleWrite? Schedule { get; init; }

    /// <summary>A namespace record written (or deleted) by this transition.</summary>
    public NamespaceWrite? Namespace { get; init; }

    /// <summary>A Nexus endpoint written (or deleted) by this transition, under its version.</summary>
    public NexusEndpointWrite? NexusEndpoint { get; init; }

    /// <summary>A worker deployment written (or deleted) by this transition, under its version.</summary>
    public WorkerDeploymentWrite? WorkerDeployment { get; init; }

    /// <summary>A task queue's configuration written by this transition, under its version.</summary>
    public TaskQueueConfigWrite? TaskQueueConfig { get; init; }

    /// <summary>Identity records written (or deleted) by this transition: one identity operation (a user, its memberships and keys).</summary>
    public IReadOnlyList<IdentityWrite> Identities { get; init; } = [];

    /// <summary>A write of settings every node keeps in memory (namespaces, identities, Nexus endpoints, worker deployments, task queue configurations).</summary>
    public bool WritesSettings => Namespace is not null || NexusEndpoint is not null || WorkerDeployment is not null || TaskQueueConfig is not null || Identities.Count > 0;

    /// <summary>Every shard this transition writes, with the writer's range id for it: all must still be current for it to commit.</summary>
    public IEnumerable<(int ShardId, long RangeId)> Fences
    {
        get
        {
            foreach (var write in Writes)
            {
                yield return (write.ShardId, write.RangeId);
            }

            if (Schedule is { } schedule)
            {
                yield return (schedule.ShardId, schedule.RangeId);
            }
        }
    }
}

/// <summary>
/// A namespace record to store, or (<see cref="Deletes"/>) to remove by its id — which also records its purge
/// (<see cref="INamespacePurgeStore"/>) at <see cref="DeletedTime"/>, in the same transaction.
/// </summary>
public sealed record NamespaceWrite(NamespaceRecord Record, bool Deletes = false)
{
    /// <summary>When a deleting write took place (the purge's record of it).</summary>
    public DateTime DeletedTime { get; init; }
}

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
