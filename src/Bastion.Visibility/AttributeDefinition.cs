namespace Bastion.Visibility;

/// <summary>
/// A search attribute a query may name: a system attribute kept in its own column, or an attribute kept in the
/// row's typed attribute map (custom ones, and predefined ones such as <c>TemporalChangeVersion</c>).
/// </summary>
/// <param name="Column">The visibility column for system attributes; null for attributes in the attribute map.</param>
/// <param name="Values">How query values map to stored ones for columns that are not stored as written.</param>
public sealed record AttributeDefinition(string Name, SearchAttributeType Type, string? Column, ValueMapping Values = ValueMapping.AsWritten)
{
    public bool IsSystem => Column != null;
}

public enum ValueMapping
{
    AsWritten,

    /// <summary>ExecutionStatus: names such as <c>Running</c> stored as Temporal's status numbers.</summary>
    Status,

    /// <summary>ExecutionDuration: a duration (<c>1h30m</c>, <c>00:10:00</c> or nanoseconds) stored as nanoseconds.</summary>
    Duration,
}
