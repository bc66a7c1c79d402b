namespace Bastion.Storage;

/// <summary>
/// What a namespace purge empties, in order, for both providers. Runs go first with their tasks (the task table has no
/// namespace index; its rows are found by run id): a run whose row is gone refuses the next versioned write of any
/// copy still cached, so nothing of it is written again. The rest are keyed by namespace id first.
/// </summary>
public static class NamespacePurgeTables
{
    /// <summary>The tables after the runs, each deleted by its namespace_id column.</summary>
    public static IReadOnlyList<string> ByNamespace { get; } =
        ["current_executions", "visibility", "history", "schedules", "batch_operations", "worker_deployments", "task_queue_configs"];

    /// <summary>Every table holding the namespace's rows (counted by <see cref="INamespacePurgeStore.CountNamespaceRowsAsync"/>).</summary>
    public static IReadOnlyList<string> All { get; } = ["executions", "tasks", .. ByNamespace];
}
