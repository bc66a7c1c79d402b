namespace Bastion.Storage;

/// <summary>
/// The identities of encoded records, in one place: the engine encodes with them and the re-encryption after a
/// key rotation decodes with them, so both must agree on every table and key.
/// </summary>
public static class RecordIdentities
{
    public const string WorkflowIdIndex = "workflow-id";

    public const string ScheduleIdIndex = "schedule-id";

    /// <summary>The blind-index purpose of batch job ids.</summary>
    public const string BatchJobIdIndex = "batch-job-id";

    /// <summary>
    /// The key-ring entry of the audit log: its records span namespaces and accounts (and some have neither), so they
    /// have keys of their own. Namespace ids are UUIDs; this cannot collide with one.
    /// </summary>
    public const string AuditNamespaceId = "bastion.audit-log";

    /// <summary>
    /// The key-ring entry of the server's own sealed values (<see cref="ISignInStore"/>): the web UI's Data Protection
    /// keys and OpenID Connect client secrets belong to no namespace.
    /// </summary>
    public const string SealedNamespaceId = "bastion.sealed";

    /// <summary>A sealed value of <see cref="ISignInStore"/>, by its name.</summary>
    public static RecordIdentity Sealed(string name) => new(SealedNamespaceId, "sealed_values", name);

    public static RecordIdentity Execution(string namespaceId, string runId) => new(namespaceId, "executions", runId);

    public static RecordIdentity History(string namespaceId, string runId, long firstEventId) => new(namespaceId, "history", $"{runId}/{firstEventId}");

    public static RecordIdentity TaskWorkflowId(string namespaceId, TaskKey key) => new(namespaceId, "tasks.workflow_id", TaskKeyText(key));

    public static RecordIdentity TaskQueue(string namespaceId, TaskKey key) => new(namespaceId, "tasks.task_queue", TaskKeyText(key));

    /// <summary>A run's visibility row (its encoded <c>WorkflowExecutionInfo</c>).</summary>
    public static RecordIdentity Visibility(string namespaceId, string runId) => new(namespaceId, "visibility", runId);

    /// <summary>A schedule's state, by the blind index of its id.</summary>
    public static RecordIdentity Schedule(string namespaceId, string scheduleIdIndex) => new(namespaceId, "schedules", scheduleIdIndex);

    /// <summary>A batch job's StartBatchOperationRequest, by the blind index of its job id.</summary>
    public static RecordIdentity BatchOperation(string namespaceId, string jobKey) => new(namespaceId, "batch_operations", jobKey);

    /// <summary>The blind-index purpose of worker deployment names.</summary>
    public const string WorkerDeploymentNameIndex = "worker-deployment-name";

    /// <summary>A worker deployment's state, by the blind index of its name.</summary>
    public static RecordIdentity WorkerDeployment(string namespaceId, string nameKey) => new(namespaceId, "worker_deployments", nameKey);

    /// <summary>The blind-index purpose of task queue names in task queue configuration keys.</summary>
    public const string TaskQueueConfigNameIndex = "task-queue-config-name";

    /// <summary>A task queue's configuration, by its key (the blind index of its name, and its type).</summary>
    public static RecordIdentity TaskQueueConfig(string namespaceId, string queueKey) => new(namespaceId, "task_queue_configs", queueKey);

    /// <summary>An audit record (its canonical JSON), by chain and sequence number (the legacy chain's by sequence number alone, as written before chains).</summary>
    public static RecordIdentity AuditRecord(string chain, long sequence)
    {
        var seq = sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new(AuditNamespaceId, "audit_log", chain == AuditChains.Legacy ? seq : $"{chain}/{seq}");
    }

    private static string TaskKeyText(TaskKey key) => $"{key.RunId}/{key.Kind}/{key.EventId}/{key.Attempt}";
}
