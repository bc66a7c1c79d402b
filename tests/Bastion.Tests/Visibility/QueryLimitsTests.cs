using Bastion.Visibility;
using Bastion.Visibility.Query;

namespace Bastion.Tests.Visibility;

/// <summary>A list filter past a stated limit is refused by the parser, naming the limit, before it can exhaust the stack.</summary>
public sealed class QueryLimitsTests
{
    private static string Ors(int count) => string.Join(" OR ", Enumerable.Range(0, count).Select(i => $"WorkflowId = 'w{i}'"));

    private static string In(int count) => "WorkflowId IN (" + string.Join(",", Enumerable.Range(0, count).Select(i => $"'{i}'")) + ")";

    private static string Nested(int depth) => new string('(', depth) + "WorkflowId = 'x'" + new string(')', depth);

    [Fact]
    public void AtTheLimits_Parses()
    {
        Assert.NotNull(Parser.Parse(Ors(QueryLimits.MaxPredicates)).Filter);
        Assert.NotNull(Parser.Parse(In(QueryLimits.MaxValues)).Filter);
        Assert.NotNull(Parser.Parse(Nested(QueryLimits.MaxNesting)).Filter);
    }

    [Fact]
    public void TooManyConditions_IsRefused_NamingTheLimit()
    {
        var e = Assert.Throws<InvalidQueryException>(() => Parser.Parse(Ors(QueryLimits.MaxPredicates + 1)));
        Assert.Contains($"more than {QueryLimits.MaxPredicates} conditions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooManyValues_IsRefused_NamingTheLimit()
    {
        var e = Assert.Throws<InvalidQueryException>(() => Parser.Parse(In(QueryLimits.MaxValues + 1)));
        Assert.Contains($"more than {QueryLimits.MaxValues} values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepNesting_IsRefused_WithoutOverflowingTheStack()
    {
        var e = Assert.Throws<InvalidQueryException>(() => Parser.Parse(Nested(20_000)));
        Assert.Contains($"nest more than {QueryLimits.MaxNesting} deep", e.Message, StringComparison.Ordinal);
        Assert.Equal(QueryLimits.MaxNesting, e.Position);
    }

    [Fact]
    public void TooLong_IsRefused_NamingTheLimit()
    {
        var e = Assert.Throws<InvalidQueryException>(() => Parser.Parse("WorkflowId = '" + new string('x', QueryLimits.MaxLength) + "'"));
        Assert.Contains($"the limit is {QueryLimits.MaxLength}", e.Message, StringComparison.Ordinal);
    }
}
