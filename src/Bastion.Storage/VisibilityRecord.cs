namespace Bastion.Storage;

/// <summary>
/// A run's visibility row, written in the same transaction as the state change it reflects (start, attribute or
/// memo change, close), so a list never disagrees with describe.
/// </summary>
/// <remarks>
/// <see cref="Info"/> is the full <c>WorkflowExecutionInfo</c> encoded through <see cref="IRecordCodec"/>: it is what
/// a list returns. The other fields are the indexed columns that answer filters. Customer text among them (ids,
/// type, task queue, Keyword attribute values) is the codec's blind index, which answers equality only; the rest
/// is evaluated on the decoded info — see docs/visibility.md.
/// </remarks>
public sealed record VisibilityRecord
{
    public required string WorkflowId { get; init; }

    public required string WorkflowType { get; init; }

    public required int Status { get; init; }

    public required DateTime StartTime { get; init; }

    public required DateTime ExecutionTime { get; init; }

    public DateTime? CloseTime { get; init; }

    /// <summary>Close time minus execution time, in nanoseconds (Temporal's ExecutionDuration).</summary>
    public long? ExecutionDurationNanos { get; init; }

    public long HistoryLength { get; init; }

    public long HistorySizeBytes { get; init; }

    public long StateTransitionCount { get; init; }

    public required string TaskQueue { get; init; }

    public string? ParentWorkflowId { get; init; }

    public string? ParentRunId { get; init; }

    public string? RootWorkflowId { get; init; }

    public string? RootRunId { get; init; }

    /// <summary>
    /// Search attributes other than the system columns, as a JSON object of typed values (Keyword: its blind index,
    /// KeywordList: array of blind indexes, Int: integer, Double: number, Bool: true/false, Datetime: UTC ticks;
    /// Text is left out and answered from <see cref="Info"/>).
    /// </summary>
    public required string SearchAttributesJson { get; init; }

    /// <summary>The encoded <c>WorkflowExecutionInfo</c> a list returns.</summary>
    public required byte[] Info { get; init; }
}
