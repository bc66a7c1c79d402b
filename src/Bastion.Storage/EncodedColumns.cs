namespace Bastion.Storage;

/// <summary>
/// Where each kind of encoded record lives in the providers' schema (the same tables and columns on every dialect):
/// table, value column, the SQL that builds its identity key as <see cref="RecordIdentities"/> does, and the SQL of the
/// key-ring namespace that encodes it (the audit log has its own, <see cref="RecordIdentities.AuditNamespaceId"/>).
/// Re-encryption scans and rewrites records through it (<see cref="IRecordStore"/>).
/// </summary>
public static class EncodedColumns
{
    private const string ByNamespace = "namespace_id";
    private const string TaskKey = "run_id || '/' || kind || '/' || event_id || '/' || attempt";

    private static readonly Dictionary<string, EncodedColumn> s_columns = new(StringComparer.Ordinal)
    {
        ["executions"] = new("executions", "state", "run_id", ByNamespace),
        ["history"] = new("history", "data", "run_id || '/' || first_event_id", ByNamespace),
        ["tasks.workflow_id"] = new("tasks", "workflow_id", TaskKey, ByNamespace, IsText: true),
        ["tasks.task_queue"] = new("tasks", "task_queue", TaskKey, ByNamespace, IsText: true),
        ["visibility"] = new("visibility", "info", "run_id", ByNamespace),
        ["schedules"] = new("schedules", "data", "schedule_id", ByNamespace),
        ["batch_operations"] = new("batch_operations", "request", "job_key", ByNamespace),
        ["worker_deployments"] = new("worker_deployments", "data", "name_key", ByNamespace),
        ["task_queue_configs"] = new("task_queue_configs", "data", "queue_key", ByNamespace),
        ["sealed_values"] = new("sealed_values", "value", "name", $"'{RecordIdentities.SealedNamespaceId}'", IsText: true),
        ["audit_log"] = new("audit_log", "data", $"CASE WHEN chain_id = '{AuditChains.Legacy}' THEN CAST(seq AS TEXT) ELSE chain_id || '/' || CAST(seq AS TEXT) END", $"'{RecordIdentities.AuditNamespaceId}'"),
    };

    /// <exception cref="ArgumentException">No encoded records of that kind.</exception>
    public static EncodedColumn Of(string kind) =>
        s_columns.TryGetValue(kind, out var column) ? column : throw new ArgumentException($"No encoded records of kind {kind}.", nameof(kind));
}

/// <param name="IsText">The column is text (an encoded identifier), not bytes; <see cref="StoredRecord.Value"/> holds its UTF-8.</param>
public sealed record EncodedColumn(string Table, string Column, string KeySql, string NamespaceSql, bool IsText = false);
