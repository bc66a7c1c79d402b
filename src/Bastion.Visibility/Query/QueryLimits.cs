namespace Bastion.Visibility.Query;

/// <summary>
/// How big a list filter may be. Temporal states no such limits for its SQL visibility; these are Bastion's, generous
/// for real filters (1000 workflow ids in one IN list fit) and far below what would exhaust the parser's stack or
/// SQLite's limits (expression depth 1000, 32766 bound values). Beyond them a query is INVALID_ARGUMENT naming the limit.
/// </summary>
public static class QueryLimits
{
    /// <summary>Characters in the query text.</summary>
    public const int MaxLength = 64 * 1024;

    /// <summary>Conditions (<c>name op value</c>, <c>IN</c>, <c>BETWEEN</c>, …) joined by AND and OR.</summary>
    public const int MaxPredicates = 500;

    /// <summary>Literal values in all, each value of an IN list counted.</summary>
    public const int MaxValues = 5000;

    /// <summary>Levels of parentheses.</summary>
    public const int MaxNesting = 32;
}
