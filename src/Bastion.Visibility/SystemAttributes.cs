namespace Bastion.Visibility;

/// <summary>
/// The attributes every namespace has: the system ones with their visibility columns, and Temporal's predefined
/// ones that workflows (SDKs) set themselves. Custom attributes may not reuse these names.
/// </summary>
public static class SystemAttributes
{
    public static IReadOnlyList<AttributeDefinition> Columns { get; } =
    [
        new("WorkflowId", SearchAttributeType.Keyword, "workflow_id"),
        new("RunId", SearchAttributeType.Keyword, "run_id"),
        new("WorkflowType", SearchAttributeType.Keyword, "workflow_type"),
        new("ExecutionStatus", SearchAttributeType.Keyword, "status", ValueMapping.Status),
        new("StartTime", SearchAttributeType.Datetime, "start_time"),
        new("CloseTime", SearchAttributeType.Datetime, "close_time"),
        new("ExecutionTime", SearchAttributeType.Datetime, "execution_time"),
        new("ExecutionDuration", SearchAttributeType.Int, "execution_duration", ValueMapping.Duration),
        new("HistoryLength", SearchAttributeType.Int, "history_length"),
        new("HistorySizeBytes", SearchAttributeType.Int, "history_size_bytes"),
        new("StateTransitionCount", SearchAttributeType.Int, "state_transition_count"),
        new("TaskQueue", SearchAttributeType.Keyword, "task_queue"),
        new("ParentWorkflowId", SearchAttributeType.Keyword, "parent_workflow_id"),
        new("ParentRunId", SearchAttributeType.Keyword, "parent_run_id"),
        new("RootWorkflowId", SearchAttributeType.Keyword, "root_workflow_id"),
        new("RootRunId", SearchAttributeType.Keyword, "root_run_id"),
    ];

    /// <summary>Predefined attributes kept in the attribute map (set by SDKs, not registered by users).</summary>
    public static IReadOnlyList<AttributeDefinition> Predefined { get; } =
    [
        new("TemporalChangeVersion", SearchAttributeType.KeywordList, null),
        new("BinaryChecksums", SearchAttributeType.KeywordList, null),
        new("BuildIds", SearchAttributeType.KeywordList, null),
        new("BatcherUser", SearchAttributeType.Keyword, null),
        new("TemporalScheduledStartTime", SearchAttributeType.Datetime, null),
        new("TemporalScheduledById", SearchAttributeType.Keyword, null),
        new("TemporalSchedulePaused", SearchAttributeType.Bool, null),
        new("TemporalNamespaceDivision", SearchAttributeType.Keyword, null),
        new("TemporalWorkerDeploymentVersion", SearchAttributeType.Keyword, null),
        new("TemporalWorkerDeployment", SearchAttributeType.Keyword, null),
        new("TemporalWorkflowVersioningBehavior", SearchAttributeType.Keyword, null),
        new(PauseInfo, SearchAttributeType.KeywordList, null),
    ];

    /// <summary>What of a run is paused (Temporal's system KeywordList): kept by the server, never set by a workflow.</summary>
    public const string PauseInfo = "TemporalPauseInfo";

    /// <summary>Attributes in the attribute map that only the server sets (a workflow's upsert of one is refused).</summary>
    public static bool IsServerManaged(string name) => name == PauseInfo;

    private static readonly Dictionary<string, AttributeDefinition> s_byName =
        Columns.Concat(Predefined).ToDictionary(a => a.Name, StringComparer.Ordinal);

    public static bool TryGet(string name, out AttributeDefinition definition) => s_byName.TryGetValue(name, out definition!);

    /// <summary>Whether a custom attribute may be registered under this name.</summary>
    public static bool IsReserved(string name) =>
        s_byName.ContainsKey(name) || name.StartsWith("Temporal", StringComparison.Ordinal);

    /// <summary>Temporal's execution status names, by status number.</summary>
    public static IReadOnlyList<string> StatusNames { get; } =
        ["Unspecified", "Running", "Completed", "Failed", "Canceled", "Terminated", "ContinuedAsNew", "TimedOut", "Paused"];
}
