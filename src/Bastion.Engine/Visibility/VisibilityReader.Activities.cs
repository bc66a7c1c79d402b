using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Namespaces;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Google.Protobuf;
using Temporalio.Api.Activity.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Visibility;

/// <summary>
/// Lists and counts of standalone activities: the rows of their runs (those whose <c>TemporalNamespaceDivision</c> is
/// <see cref="StandaloneActivity.Division"/>), with Temporal's activity attribute names — <c>ActivityId</c> and
/// <c>ActivityType</c> are the run row's id and type columns; the workflow-only attributes do not exist here.
/// </summary>
internal sealed partial class VisibilityReader
{
    private static readonly HashSet<string> s_workflowOnly = new(StringComparer.Ordinal)
    {
        "WorkflowId", "WorkflowType", "HistoryLength", "HistorySizeBytes", "ParentWorkflowId", "ParentRunId", "RootWorkflowId", "RootRunId",
    };

    public async Task<(List<ActivityExecutionListInfo> Executions, ByteString NextPageToken)> ListActivitiesAsync(
        NamespaceEntry ns, string? query, int pageSize, ByteString? pageToken)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var bound = BindActivities(ns, query, forCount: false);
        var size = pageSize <= 0 || pageSize > MaxPageSize ? MaxPageSize : pageSize;
        var (rows, next) = await ListPageAsync(ns, bound, size, DecodeToken(pageToken)).ConfigureAwait(false);
        return ([.. rows.Select(StandaloneActivityDescriptions.ListInfoOf)], next);
    }

    public async Task<CountActivityExecutionsResponse> CountActivitiesAsync(NamespaceEntry ns, string? query)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var counts = await CountAsync(ns, BindActivities(ns, query, forCount: true)).ConfigureAwait(false);
        var response = new CountActivityExecutionsResponse { Count = counts.Sum(c => c.Count) };
        foreach (var (group, count) in counts.Where(c => c.Group is not null))
        {
            response.Groups.Add(new CountActivityExecutionsResponse.Types.AggregationGroup
            {
                Count = count,
                GroupValues = { KeywordPayload(StandaloneActivityDescriptions.StatusOf((int)group!.Value).ToString()) },
            });
        }

        return response;
    }

    private static ListQuery BindActivities(NamespaceEntry ns, string? query, bool forCount)
    {
        try
        {
            var parsed = Parser.Parse(query);
            var division = new CompareExpr(new AttributeName(DivisionAttribute, 0), CompareOp.Equal, new Literal(StandaloneActivity.Division, IsString: true, 0));
            return Binder.Bind(parsed with { Filter = Within(parsed.Filter, division) }, name => ResolveForActivities(ns, name), forCount);
        }
        catch (InvalidQueryException e)
        {
            throw ServiceException.InvalidArgument($"Invalid query {ServiceException.Quote(query)}: {e.Message}.");
        }
    }

    private static AttributeDefinition? ResolveForActivities(NamespaceEntry ns, string name) => name switch
    {
        "ActivityId" => SearchAttributeValues.Resolve(ns, "WorkflowId"),
        "ActivityType" => SearchAttributeValues.Resolve(ns, "WorkflowType"),
        _ when s_workflowOnly.Contains(name) => null,
        _ => SearchAttributeValues.Resolve(ns, name),
    };
}
