using Bastion.Storage.Postgres;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Bastion.Visibility.Sql;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>
/// The PostgreSQL dialect answers every list filter as the SQLite dialect does: one corpus of queries over the same
/// rows on both, compared in order. A query with an expected answer asserts it too; one without must select some
/// rows but not all, so no entry passes by matching everything or nothing on both databases.
/// </summary>
public sealed class PostgresVisibilityDialectTests(VisibilityCorpus corpus) : IClassFixture<VisibilityCorpus>
{
    public static TheoryData<string, string?> Corpus { get; } = new()
    {
        // System attributes: columns.
        { "WorkflowType = 'OrderWorkflow'", "7 2 1" },
        { "WorkflowType != 'OrderWorkflow'", "6 5 4 3" },
        { "ExecutionStatus = 'Running'", "4 1" },
        { "ExecutionStatus != 'Running'", null },
        { "ExecutionStatus IN ('Completed', 'Failed')", "3 2" },
        { "ExecutionStatus NOT IN ('Running', 'Completed')", null },
        { "StartTime > '2025-01-01T03:00:00Z'", "7 6 5 4" },
        { "StartTime >= '2025-01-01T03:00:00Z'", null },
        { "StartTime < '2025-01-01T03:00:00Z'", null },
        { "StartTime <= '2025-01-01T03:00:00Z'", null },
        { "StartTime = '2025-01-01T05:00:00Z'", "6 5" },
        { "StartTime BETWEEN '2025-01-01T02:00:00Z' AND '2025-01-01T04:00:00Z'", "4 3 2" },
        { "StartTime NOT BETWEEN '2025-01-01T02:00:00Z' AND '2025-01-01T04:00:00Z'", null },
        { "CloseTime IS NULL", "4 1" },
        { "CloseTime IS NOT NULL", null },
        { "CloseTime < '2025-01-01T06:30:00Z'", "5 3 2" },
        { "ExecutionTime > '2025-01-01T06:00:00Z'", "7" },
        { "ExecutionDuration > '1h'", "7 6 3" },
        { "ExecutionDuration <= '01:00:00'", null },
        { "HistoryLength >= 20", null },
        { "RunId = 'run-3'", "3" },
        { "WorkflowId STARTS_WITH 'order-'", "7 2 1" },
        { "WorkflowId STARTS_WITH 'ship'", null },
        { "TaskQueue IN ('payments', 'shipping')", "6 4 3" },
        { "TaskQueue NOT IN ('orders')", null },
        { "ParentWorkflowId = 'order-1'", "5" },
        { "ParentWorkflowId IS NULL", null },

        // Keyword in the attribute map: case and code-point order, as written.
        { "CustomKeyword = 'alpha'", "3 1" },
        { "CustomKeyword != 'alpha'", "7 6 2" },
        { "CustomKeyword IN ('alpha', 'gamma')", null },
        { "CustomKeyword NOT IN ('alpha', 'gamma')", null },
        { "CustomKeyword STARTS_WITH 'al'", "3 1" },
        { "CustomKeyword > 'alpha'", "6 2" },
        { "CustomKeyword IS NULL", "5 4" },
        { "CustomKeyword IS NOT NULL", null },

        // Int, Double, Bool, Datetime: compared as numbers, a missing value matching nothing.
        { "CustomInt = 20", "7 2" },
        { "CustomInt != 20", "5 3 1" },
        { "CustomInt > 10", null },
        { "CustomInt >= 10", null },
        { "CustomInt < 10", "3" },
        { "CustomInt <= 10", null },
        { "CustomInt BETWEEN 0 AND 20", "7 2 1" },
        { "CustomInt NOT BETWEEN 0 AND 20", null },
        { "CustomInt IN (10, 30)", null },
        { "CustomInt NOT IN (10, 30)", null },
        { "CustomDouble > 1.5", "6 2" },
        { "CustomDouble < 0", null },
        { "CustomDouble BETWEEN 1 AND 3", null },
        { "CustomDouble = 100", "6" },
        { "CustomBool = true", "5 1" },
        { "CustomBool = false", null },
        { "CustomBool != true", "7 2" },
        { "CustomDatetime > '2025-01-02T12:00:00Z'", "6 3" },
        { "CustomDatetime <= '2025-01-02T00:00:00Z'", null },
        { "CustomDatetime IS NOT NULL", null },

        // Text contains, ignoring case; KeywordList contains.
        { "CustomText = 'hello'", "5 1" },
        { "CustomText = 'BROWN'", "2" },
        { "CustomText != 'hello'", null },
        { "CustomText = 'crate'", "6" },
        { "CustomText = 'émile'", "" }, // case folds for ASCII letters only, as SQLite's lower() does
        { "CustomList = 'red'", "5 1" },
        { "CustomList != 'red'", "7 6 4 3 2" },
        { "CustomList IN ('blue', 'yellow')", "6 2" },
        { "CustomList NOT IN ('red', 'green')", null },
        { "CustomList IS NULL", null },

        // AND, OR, parentheses.
        { "(WorkflowType = 'OrderWorkflow' OR WorkflowType = 'ShippingWorkflow') AND ExecutionStatus != 'Running'", "7 6 5 2" },
        { "WorkflowType = 'PaymentWorkflow' OR (CustomInt > 15 AND CustomBool = false)", "7 4 3 2" },
        { "CustomKeyword = 'alpha' AND (CustomBool = true OR CustomDatetime > '2025-01-01T12:00:00Z')", "3 1" },

        // ORDER BY, ties broken by run id.
        { "ExecutionStatus != 'Running' ORDER BY CloseTime ASC", "2 3 5 6 7" },
        { "ORDER BY CloseTime DESC", "7 6 5 3 2 4 1" },
        { "CustomInt IS NOT NULL ORDER BY StartTime ASC", "1 2 3 5 7" },
        { "WorkflowType != 'PaymentWorkflow' ORDER BY ExecutionTime DESC", null },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task List_SameRunsOnSqliteAndPostgres(string query, string? expected)
    {
        var bound = VisibilityCorpus.Bind(query);

        var sqlite = corpus.Sqlite(bound);
        var postgres = await corpus.PostgresAsync(bound);

        Assert.Equal(sqlite, postgres);
        if (expected is not null)
        {
            Assert.Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(n => $"run-{n}"), postgres);
        }
        else
        {
            Assert.InRange(postgres.Count, 1, VisibilityCorpus.Rows.Count(r => r.NamespaceId == VisibilityCorpus.Namespace) - 1);
        }
    }

    [Fact]
    public void MapValue_UnsafeAttributeName_IsRefused() =>
        Assert.Throws<InvalidOperationException>(() =>
            PostgresVisibilityDialect.Instance.MapValue(new AttributeDefinition("x'; DROP TABLE visibility; --", SearchAttributeType.Int, null)));

    [Fact]
    public void Write_ValuesOnlyAsParameters()
    {
        var filter = SqlFilterWriter.Write(VisibilityCorpus.Bind("CustomKeyword = 'x OR 1 = 1' AND CustomList = 'c'").Filter, PostgresVisibilityDialect.Instance);

        Assert.DoesNotContain("x OR", filter.Where, StringComparison.Ordinal);
        Assert.Equal(["x OR 1 = 1", "c"], filter.Parameters);
        Assert.Contains("@p0", filter.Where, StringComparison.Ordinal);
        Assert.Contains("@p1", filter.Where, StringComparison.Ordinal);
    }

    [Fact]
    public void Bool_IsBoundAsABool() => Assert.Equal(true, PostgresVisibilityDialect.Instance.BoolValue(true));
}
