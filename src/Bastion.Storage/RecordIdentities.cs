namespace Bastion.Storage;

/// <summary>
/// The identities of encoded records, in one place: the engine encodes with them and the re-encryption after a
/// key rotation decodes with them, so both must agree on every table and key.
/// </summary>
public static class RecordIdentities
{
    public const string WorkflowIdIndex = "workflow-id";

    public static RecordIdentity Execution(string namespaceId, string runId) => new(namespaceId, "executions", runId);

    public static RecordIdentity History(string namespaceId, string runId, long firstEventId) => new(namespaceId, "history", $"{runId}/{firstEventId}");

    public static RecordIdentity TaskWorkflowId(string namespaceId, TaskKey key) => new(namespaceId, "tasks.workflow_id", TaskKeyText(key));

    public static RecordIdentity TaskQueue(string namespaceId, TaskKey key) => new(namespaceId, "tasks.task_queue", TaskKeyText(key));

    private static string TaskKeyText(TaskKey key) => $"{key.RunId}/{key.Kind}/{key.EventId}/{key.Attempt}";
}
