using System.Globalization;
using Bastion.Visibility;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>List, scan and count with Temporal's list filter (docs/visibility.md), and the deprecated open/closed lists.</summary>
internal sealed partial class WorkflowServiceHandler
{
    public async Task<ListWorkflowExecutionsResponse> ListWorkflowExecutions(ListWorkflowExecutionsRequest request, ServerCallContext context)
    {
        var (executions, next) = await visibility.ListAsync(NamespaceOf(context), request.Query, request.PageSize, request.NextPageToken).ConfigureAwait(false);
        return new ListWorkflowExecutionsResponse { Executions = { executions }, NextPageToken = next };
    }

    /// <summary>Scan is list without ordering promises; here it is list.</summary>
    public async Task<ScanWorkflowExecutionsResponse> ScanWorkflowExecutions(ScanWorkflowExecutionsRequest request, ServerCallContext context)
    {
        var (executions, next) = await visibility.ListAsync(NamespaceOf(context), request.Query, request.PageSize, request.NextPageToken).ConfigureAwait(false);
        return new ScanWorkflowExecutionsResponse { Executions = { executions }, NextPageToken = next };
    }

    public Task<CountWorkflowExecutionsResponse> CountWorkflowExecutions(CountWorkflowExecutionsRequest request, ServerCallContext context) =>
        visibility.CountAsync(NamespaceOf(context), request.Query);

    public async Task<ListOpenWorkflowExecutionsResponse> ListOpenWorkflowExecutions(ListOpenWorkflowExecutionsRequest request, ServerCallContext context)
    {
        var query = LegacyQuery(
            "ExecutionStatus = 'Running'", "StartTime", request.StartTimeFilter,
            request.ExecutionFilter?.WorkflowId, request.TypeFilter?.Name, null);
        var (executions, next) = await visibility.ListAsync(NamespaceOf(context), query, request.MaximumPageSize, request.NextPageToken).ConfigureAwait(false);
        return new ListOpenWorkflowExecutionsResponse { Executions = { executions }, NextPageToken = next };
    }

    public async Task<ListClosedWorkflowExecutionsResponse> ListClosedWorkflowExecutions(ListClosedWorkflowExecutionsRequest request, ServerCallContext context)
    {
        var query = LegacyQuery(
            "ExecutionStatus != 'Running'", "CloseTime", request.StartTimeFilter,
            request.ExecutionFilter?.WorkflowId, request.TypeFilter?.Name, request.StatusFilter?.Status);
        var (executions, next) = await visibility.ListAsync(NamespaceOf(context), query, request.MaximumPageSize, request.NextPageToken).ConfigureAwait(false);
        return new ListClosedWorkflowExecutionsResponse { Executions = { executions }, NextPageToken = next };
    }

    /// <summary>The system attributes every namespace has (custom ones are per namespace: OperatorService.ListSearchAttributes).</summary>
    public Task<GetSearchAttributesResponse> GetSearchAttributes(GetSearchAttributesRequest request, ServerCallContext context)
    {
        var response = new GetSearchAttributesResponse();
        foreach (var attribute in SystemAttributes.Columns.Concat(SystemAttributes.Predefined))
        {
            response.Keys[attribute.Name] = (IndexedValueType)attribute.Type;
        }

        return Task.FromResult(response);
    }

    /// <summary>
    /// The deprecated filters as a list query (Temporal's own translation): a time window on start (open) or
    /// close (closed) time, and one of workflow id, type or close status.
    /// </summary>
    private static string LegacyQuery(
        string statusClause, string timeAttribute, Temporalio.Api.Filter.V1.StartTimeFilter? window,
        string? workflowId, string? workflowType, WorkflowExecutionStatus? status)
    {
        var clauses = new List<string> { statusClause };
        if (window?.EarliestTime is { } earliest)
        {
            clauses.Add($"{timeAttribute} >= {Literal(earliest.ToDateTime().ToString("o", CultureInfo.InvariantCulture))}");
        }

        if (window?.LatestTime is { } latest && latest.Seconds + latest.Nanos > 0)
        {
            clauses.Add($"{timeAttribute} <= {Literal(latest.ToDateTime().ToString("o", CultureInfo.InvariantCulture))}");
        }

        if (!string.IsNullOrEmpty(workflowId))
        {
            clauses.Add($"WorkflowId = {Literal(workflowId)}");
        }

        if (!string.IsNullOrEmpty(workflowType))
        {
            clauses.Add($"WorkflowType = {Literal(workflowType)}");
        }

        if (status is { } s and not WorkflowExecutionStatus.Unspecified)
        {
            clauses.Add($"ExecutionStatus = {Literal(SystemAttributes.StatusNames[(int)s])}");
        }

        return string.Join(" AND ", clauses) + $" ORDER BY {timeAttribute} DESC";
    }

    private static string Literal(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
