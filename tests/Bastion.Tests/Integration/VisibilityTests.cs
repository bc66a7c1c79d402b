using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;
using Xunit;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class VisibilityTests(ServerFixture fixture)
{
    private static readonly SearchAttributeKey<string> s_tag = SearchAttributeKey.CreateKeyword("VisTag");
    private static readonly SearchAttributeKey<string> s_text = SearchAttributeKey.CreateText("VisText");
    private static readonly SearchAttributeKey<long> s_int = SearchAttributeKey.CreateLong("VisInt");
    private static readonly SearchAttributeKey<double> s_double = SearchAttributeKey.CreateDouble("VisDouble");
    private static readonly SearchAttributeKey<bool> s_bool = SearchAttributeKey.CreateBool("VisBool");
    private static readonly SearchAttributeKey<DateTimeOffset> s_time = SearchAttributeKey.CreateDateTimeOffset("VisTime");
    private static readonly SearchAttributeKey<IReadOnlyCollection<string>> s_list = SearchAttributeKey.CreateKeywordList("VisList");

    [Workflow]
    public sealed class UpsertWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(long value)
        {
            Workflow.UpsertTypedSearchAttributes(s_int.ValueSet(value));
            return Task.FromResult("done");
        }
    }

    private Task RegisterAsync() =>
        fixture.Client.Connection.OperatorService.AddSearchAttributesAsync(new()
        {
            Namespace = "default",
            SearchAttributes =
            {
                ["VisTag"] = IndexedValueType.Keyword,
                ["VisText"] = IndexedValueType.Text,
                ["VisInt"] = IndexedValueType.Int,
                ["VisDouble"] = IndexedValueType.Double,
                ["VisBool"] = IndexedValueType.Bool,
                ["VisTime"] = IndexedValueType.Datetime,
                ["VisList"] = IndexedValueType.KeywordList,
            },
        });

    /// <summary>Starts three workflows tagged with a fresh tag: values 1, 2, 3 in every typed attribute.</summary>
    private async Task<(string Tag, List<string> Ids)> StartThreeAsync()
    {
        await RegisterAsync();
        var tag = "t-" + Guid.NewGuid().ToString("N");
        var ids = new List<string>();
        for (var i = 1; i <= 3; i++)
        {
            var id = $"{tag}-wf{i}";
            ids.Add(id);
            await fixture.Client.StartWorkflowAsync("VisType" + i, [], new(id, ServerFixture.NewTaskQueue())
            {
                TypedSearchAttributes = new SearchAttributeCollection.Builder()
                    .Set(s_tag, tag)
                    .Set(s_text, $"the quick fox number{i}")
                    .Set(s_int, i)
                    .Set(s_double, i + 0.5)
                    .Set(s_bool, i % 2 == 1)
                    .Set(s_time, new DateTimeOffset(2030, 1, i, 0, 0, 0, TimeSpan.Zero))
                    .Set(s_list, [$"a{i}", "common"])
                    .ToSearchAttributeCollection(),
            });
        }

        return (tag, ids);
    }

    private async Task<List<string>> IdsAsync(string query)
    {
        var ids = new List<string>();
        await foreach (var execution in fixture.Client.ListWorkflowsAsync(query))
        {
            ids.Add(execution.Id);
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    [Theory]
    [InlineData("VisInt = 2", "2")]
    [InlineData("VisInt != 2", "13")]
    [InlineData("VisInt > 1", "23")]
    [InlineData("VisInt >= 2", "23")]
    [InlineData("VisInt < 2", "1")]
    [InlineData("VisInt <= 2", "12")]
    [InlineData("VisInt IN (1, 3)", "13")]
    [InlineData("VisInt NOT IN (1, 3)", "2")]
    [InlineData("VisInt BETWEEN 2 AND 3", "23")]
    [InlineData("VisInt NOT BETWEEN 2 AND 3", "1")]
    [InlineData("VisDouble > 2.0", "23")]
    [InlineData("VisBool = true", "13")]
    [InlineData("VisTime >= '2030-01-02T00:00:00Z'", "23")]
    [InlineData("VisTime BETWEEN '2030-01-01T12:00:00Z' AND '2030-01-02T12:00:00Z'", "2")]
    [InlineData("VisList = 'a3'", "3")]
    [InlineData("VisList IN ('a1', 'a2')", "12")]
    [InlineData("VisList = 'common' AND VisInt < 3", "12")]
    [InlineData("VisText = 'number2'", "2")]
    [InlineData("WorkflowType = 'VisType3'", "3")]
    [InlineData("WorkflowType STARTS_WITH 'VisType'", "123")]
    [InlineData("WorkflowType IN ('VisType1', 'VisType2')", "12")]
    [InlineData("ExecutionStatus = 'Running'", "123")]
    [InlineData("ExecutionStatus != 'Running'", "")]
    [InlineData("CloseTime IS NULL", "123")]
    [InlineData("CloseTime IS NOT NULL", "")]
    [InlineData("ParentWorkflowId IS NULL AND HistoryLength >= 2", "123")]
    [InlineData("StartTime > '2000-01-01T00:00:00Z' AND ExecutionTime > '2000-01-01T00:00:00Z'", "123")]
    [InlineData("(VisInt = 1 OR VisInt = 3) AND VisBool = true", "13")]
    [InlineData("VisInt = 1 OR (VisInt = 2 AND VisBool = false)", "12")]
    [InlineData("TaskQueue STARTS_WITH 'tq-' AND StateTransitionCount > 0 AND HistorySizeBytes > 0", "123")]
    public async Task List_FiltersWithEachOperatorAndAttributeType(string filter, string expected)
    {
        var (tag, ids) = await StartThreeAsync();
        var found = await IdsAsync($"VisTag = '{tag}' AND ({filter})");
        Assert.Equal(expected.Select(c => ids[c - '1']).ToList(), found);
    }

    [Fact]
    public async Task ClosedWorkflows_AreFoundByStatusCloseTimeAndDuration_AndCountedByStatus()
    {
        var (tag, ids) = await StartThreeAsync();
        await fixture.Client.GetWorkflowHandle(ids[0]).TerminateAsync("done");
        await fixture.Client.GetWorkflowHandle(ids[1]).CancelAsync();
        Assert.Equal([ids[0]], await IdsAsync($"VisTag = '{tag}' AND ExecutionStatus = 'Terminated' AND CloseTime IS NOT NULL AND ExecutionDuration >= 0"));
        Assert.Equal([ids[0]], await IdsAsync($"VisTag = '{tag}' AND ExecutionDuration < '1h'"));

        var count = await fixture.Client.CountWorkflowsAsync($"VisTag = '{tag}'");
        Assert.Equal(3, count.Count);
        var raw = await fixture.Client.Connection.WorkflowService.CountWorkflowExecutionsAsync(new()
        {
            Namespace = "default",
            Query = $"VisTag = '{tag}' GROUP BY ExecutionStatus",
        });
        Assert.Equal(3, raw.Count);
        var groups = raw.Groups.ToDictionary(g => g.GroupValues[0].Data.ToStringUtf8(), g => g.Count);
        Assert.Equal(new Dictionary<string, long> { ["\"Running\""] = 2, ["\"Terminated\""] = 1 }, groups);
    }

    [Fact]
    public async Task ListedExecution_CarriesWhatDescribeShows()
    {
        var (tag, ids) = await StartThreeAsync();
        var listed = await fixture.Client.ListWorkflowsAsync($"VisTag = '{tag}' AND WorkflowId = '{ids[1]}'").FirstAsync();
        var described = await fixture.Client.GetWorkflowHandle(ids[1]).DescribeAsync();
        Assert.Equal(described.RunId, listed.RunId);
        Assert.Equal("VisType2", listed.WorkflowType);
        Assert.Equal(described.StartTime, listed.StartTime);
        Assert.Equal(2L, listed.TypedSearchAttributes.Get(s_int));
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 0, 0, 0, TimeSpan.Zero), listed.TypedSearchAttributes.Get(s_time));
        Assert.Equal(described.TaskQueue, listed.TaskQueue);
    }

    [Fact]
    public async Task UpsertedAttribute_IsQueryable()
    {
        await RegisterAsync();
        var value = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        await fixture.WithWorkerAsync(o => o.AddWorkflow<UpsertWorkflow>(), async tq =>
        {
            var id = "upsert-" + Guid.NewGuid();
            await fixture.Client.ExecuteWorkflowAsync((UpsertWorkflow w) => w.RunAsync(value), new(id, tq));
            Assert.Equal([id], await IdsAsync($"VisInt = {value} AND ExecutionStatus = 'Completed'"));
        });
    }

    [Fact]
    public async Task StartWithAWrongTypeOrAnUnknownAttribute_IsInvalidArgument()
    {
        await RegisterAsync();
        var wrongType = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.StartWorkflowAsync("Any", [], new("bad-sa-" + Guid.NewGuid(), ServerFixture.NewTaskQueue())
        {
            TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(SearchAttributeKey.CreateKeyword("VisInt"), "not a number").ToSearchAttributeCollection(),
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, wrongType.Code);
        Assert.Contains("VisInt", wrongType.Message, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.StartWorkflowAsync("Any", [], new("bad-sa-" + Guid.NewGuid(), ServerFixture.NewTaskQueue())
        {
            TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(SearchAttributeKey.CreateKeyword("NeverRegistered"), "x").ToSearchAttributeCollection(),
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, unknown.Code);
    }

    [Theory]
    [InlineData("VisInt = ", "position 10")]
    [InlineData("VisInt = 1 AND", "position 15")]
    [InlineData("VisInt == 1", "position 9")]
    [InlineData("(VisInt = 1", "position 12")]
    [InlineData("Nope = 1", "unknown search attribute 'Nope'")]
    [InlineData("VisInt = 'x'", "not a valid Int")]
    [InlineData("VisBool > true", "range comparison is not supported")]
    [InlineData("WorkflowId = 'unterminated", "unterminated string")]
    [InlineData("ORDER BY HistoryLength", "ORDER BY accepts")]
    public async Task MalformedQuery_IsInvalidArgumentNamingThePositionAndProblem(string query, string expected)
    {
        await RegisterAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.Connection.WorkflowService.ListWorkflowExecutionsAsync(new()
        {
            Namespace = "default",
            Query = query,
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    // The second query is answered partly on decoded rows (a prefix of an encrypted id), with rows that fail it
    // between the ones that pass: pages must still be exact.
    [Theory]
    [InlineData("VisTag = '{0}'")]
    [InlineData("WorkflowId STARTS_WITH '{0}-' AND ExecutionStatus = 'Running'")]
    public async Task Paging_HasNoDuplicatesOrGaps_WhileNewWorkflowsStart(string queryFormat)
    {
        await RegisterAsync();
        var tag = "page-" + Guid.NewGuid().ToString("N");
        var tq = ServerFixture.NewTaskQueue();
        var options = (string id) => new WorkflowOptions(id, tq)
        {
            TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(s_tag, tag).ToSearchAttributeCollection(),
        };
        var first = new List<string>();
        for (var i = 0; i < 35; i++)
        {
            first.Add($"{tag}-{i:D2}");
            await fixture.Client.StartWorkflowAsync("Paged", [], options(first[^1]));
            await fixture.Client.StartWorkflowAsync("Paged", [], new WorkflowOptions($"other-{tag}-{i:D2}", tq));
        }

        var seen = new List<string>();
        var token = Google.Protobuf.ByteString.Empty;
        var late = 0;
        do
        {
            var page = await fixture.Client.Connection.WorkflowService.ListWorkflowExecutionsAsync(new()
            {
                Namespace = "default",
                Query = string.Format(System.Globalization.CultureInfo.InvariantCulture, queryFormat, tag),
                PageSize = 4,
                NextPageToken = token,
            });
            seen.AddRange(page.Executions.Select(e => e.Execution.WorkflowId));
            token = page.NextPageToken;
            await fixture.Client.StartWorkflowAsync("Paged", [], options($"{tag}-late{late++}"));
        }
        while (!token.IsEmpty);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), first.ToHashSet());
        Assert.All(seen, id => Assert.StartsWith(tag, id, StringComparison.Ordinal));
        Assert.Equal(first.AsEnumerable().Reverse(), seen.Where(first.Contains)); // newest first
    }

    [Fact]
    public async Task ListInOneNamespace_NeverReturnsAnothersWorkflows()
    {
        var other = "ns-" + Guid.NewGuid().ToString("N")[..12];
        await fixture.Client.Connection.WorkflowService.RegisterNamespaceAsync(new()
        {
            Namespace = other,
            WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(1)),
        });
        var otherClient = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = other });
        var id = "iso-" + Guid.NewGuid();
        await otherClient.StartWorkflowAsync("Isolated", [], new(id, ServerFixture.NewTaskQueue()));
        await fixture.Client.StartWorkflowAsync("Isolated", [], new(id, ServerFixture.NewTaskQueue()));

        var inOther = new List<WorkflowExecution>();
        await foreach (var e in otherClient.ListWorkflowsAsync($"WorkflowId = '{id}'"))
        {
            inOther.Add(e);
        }

        Assert.Single(inOther);
        Assert.Equal(1, (await otherClient.CountWorkflowsAsync($"WorkflowId = '{id}'")).Count);
        Assert.Equal(1, (await fixture.Client.CountWorkflowsAsync($"WorkflowId = '{id}'")).Count);
        var inDefault = await fixture.Client.ListWorkflowsAsync($"WorkflowId = '{id}'").FirstAsync();
        Assert.NotEqual(inOther[0].RunId, inDefault.RunId);
    }

    [Fact]
    public async Task OperatorService_AddsListsAndRemovesAttributes_AndRejectsATypeChange()
    {
        var name = "VisTemp" + Guid.NewGuid().ToString("N")[..8];
        var operators = fixture.Client.Connection.OperatorService;
        await operators.AddSearchAttributesAsync(new() { Namespace = "default", SearchAttributes = { [name] = IndexedValueType.Double } });
        var listed = await operators.ListSearchAttributesAsync(new() { Namespace = "default" });
        Assert.Equal(IndexedValueType.Double, listed.CustomAttributes[name]);
        Assert.Equal(IndexedValueType.Datetime, listed.SystemAttributes["StartTime"]);

        var changed = await Assert.ThrowsAsync<RpcException>(() => operators.AddSearchAttributesAsync(new() { Namespace = "default", SearchAttributes = { [name] = IndexedValueType.Int } }));
        Assert.Equal(RpcException.StatusCode.AlreadyExists, changed.Code);

        await operators.RemoveSearchAttributesAsync(new() { Namespace = "default", SearchAttributes = { name } });
        Assert.False((await operators.ListSearchAttributesAsync(new() { Namespace = "default" })).CustomAttributes.ContainsKey(name));
        var system = await fixture.Client.Connection.WorkflowService.GetSearchAttributesAsync(new());
        Assert.Equal(IndexedValueType.Keyword, system.Keys["WorkflowId"]);
    }

    [Fact]
    public async Task DeprecatedOpenAndClosedLists_FilterByTypeAndStatus()
    {
        var (_, ids) = await StartThreeAsync();
        await fixture.Client.GetWorkflowHandle(ids[0]).TerminateAsync("done");
        var service = fixture.Client.Connection.WorkflowService;
        var open = await service.ListOpenWorkflowExecutionsAsync(new()
        {
            Namespace = "default",
            MaximumPageSize = 100,
            ExecutionFilter = new() { WorkflowId = ids[1] },
            StartTimeFilter = new() { EarliestTime = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)) },
        });
        Assert.Equal(ids[1], Assert.Single(open.Executions).Execution.WorkflowId);
        var closed = await service.ListClosedWorkflowExecutionsAsync(new()
        {
            Namespace = "default",
            MaximumPageSize = 100,
            ExecutionFilter = new() { WorkflowId = ids[0] },
        });
        Assert.Equal(WorkflowExecutionStatus.Terminated, Assert.Single(closed.Executions).Status);
    }
}
