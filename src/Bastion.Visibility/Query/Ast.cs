namespace Bastion.Visibility.Query;

/// <summary>A filter expression of a list query, as parsed (names not yet resolved, values as written).</summary>
public abstract record Expr(int Position);

public sealed record AndExpr(Expr Left, Expr Right) : Expr(Left.Position);

public sealed record OrExpr(Expr Left, Expr Right) : Expr(Left.Position);

/// <summary><c>Name op value</c> with op one of <c>= != &lt; &lt;= &gt; &gt;=</c>.</summary>
public sealed record CompareExpr(AttributeName Attribute, CompareOp Op, Literal Value) : Expr(Attribute.Position);

/// <summary><c>Name [NOT] IN (v, …)</c>.</summary>
public sealed record InExpr(AttributeName Attribute, IReadOnlyList<Literal> Values, bool Negated) : Expr(Attribute.Position);

/// <summary><c>Name [NOT] BETWEEN low AND high</c> (inclusive).</summary>
public sealed record BetweenExpr(AttributeName Attribute, Literal Low, Literal High, bool Negated) : Expr(Attribute.Position);

/// <summary><c>Name STARTS_WITH 'prefix'</c>.</summary>
public sealed record StartsWithExpr(AttributeName Attribute, Literal Prefix) : Expr(Attribute.Position);

/// <summary><c>Name IS [NOT] NULL</c>.</summary>
public sealed record IsNullExpr(AttributeName Attribute, bool Negated) : Expr(Attribute.Position);

/// <summary>
/// Matches every row: what stands in the SQL pre-filter for a predicate the database cannot answer (e.g. a range on
/// a blind-indexed column), which is then evaluated on the decoded row. The binder never produces it.
/// </summary>
public sealed record MatchAllExpr(int Position) : Expr(Position);

public enum CompareOp
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

public static class CompareOps
{
    /// <summary>The operator as the query language (and SQL) writes it.</summary>
    public static string Symbol(this CompareOp op) => op switch
    {
        CompareOp.Equal => "=",
        CompareOp.NotEqual => "!=",
        CompareOp.Less => "<",
        CompareOp.LessOrEqual => "<=",
        CompareOp.Greater => ">",
        _ => ">=",
    };
}

/// <summary>An attribute name where the query wrote it; after binding, <see cref="Resolved"/> says what it is.</summary>
public sealed record AttributeName(string Name, int Position)
{
    public AttributeDefinition? Resolved { get; init; }

    public AttributeDefinition Definition => Resolved ?? throw new InvalidOperationException($"Attribute {Name} is not bound.");
}

/// <summary>A value as written (<see cref="Text"/>), and after binding its typed form (<see cref="Value"/>).</summary>
public sealed record Literal(string Text, bool IsString, int Position)
{
    /// <summary>string, long, double or bool after binding (times are ticks, durations nanoseconds, statuses numbers).</summary>
    public object? Value { get; init; }
}

/// <summary><c>ORDER BY Name [ASC|DESC]</c>.</summary>
public sealed record OrderTerm(AttributeName Attribute, bool Descending);

/// <summary>A parsed list query: an optional filter, ordering and grouping.</summary>
public sealed record ListQuery(string Text, Expr? Filter, IReadOnlyList<OrderTerm> OrderBy, IReadOnlyList<AttributeName> GroupBy);
