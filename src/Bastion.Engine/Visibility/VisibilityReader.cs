using System.Globalization;
using System.Text;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Storage;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Visibility;

/// <summary>
/// List and count: parse and bind the query against the namespace's attributes, read the rows in one namespace,
/// decode what a list returns. Page tokens are keyset cursors (sort key + run id), so a page never repeats or
/// skips a run when new runs start between pages.
/// </summary>
internal sealed class VisibilityReader(IExecutionStore store, IRecordCodec codec)
{
    public const int MaxPageSize = 1000;

    public async Task<(List<WorkflowExecutionInfo> Executions, ByteString NextPageToken)> ListAsync(
        NamespaceEntry ns, string? query, int pageSize, ByteString? pageToken)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var bound = Bind(ns, query, forCount: false);
        var size = pageSize <= 0 || pageSize > MaxPageSize ? MaxPageSize : pageSize;
        var after = DecodeToken(pageToken);
        var rows = await Task.Run(() => store.ListVisibility(new VisibilityPageRequest(ns.Id, bound, size, after))).ConfigureAwait(false);
        var executions = rows
            .Select(r => WorkflowExecutionInfo.Parser.ParseFrom(codec.Decode(new RecordIdentity(ns.Id, "visibility", r.RunId), r.Info)))
            .ToList();
        var next = rows.Count == size
            ? ByteString.CopyFromUtf8(FormattableString.Invariant($"v1:{rows[^1].OrderKey}:{rows[^1].RunId}"))
            : ByteString.Empty;
        return (executions, next);
    }

    public async Task<CountWorkflowExecutionsResponse> CountAsync(NamespaceEntry ns, string? query)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var bound = Bind(ns, query, forCount: true);
        var counts = await Task.Run(() => store.CountVisibility(ns.Id, bound)).ConfigureAwait(false);
        var response = new CountWorkflowExecutionsResponse { Count = counts.Sum(c => c.Count) };
        if (bound.GroupBy.Count > 0)
        {
            foreach (var (group, count) in counts)
            {
                var name = SystemAttributes.StatusNames[(int)group!.Value];
                response.Groups.Add(new CountWorkflowExecutionsResponse.Types.AggregationGroup
                {
                    Count = count,
                    GroupValues = { KeywordPayload(name) },
                });
            }
        }

        return response;
    }

    /// <summary>Parses and binds; a problem is INVALID_ARGUMENT naming the position and the query.</summary>
    public static ListQuery Bind(NamespaceEntry ns, string? query, bool forCount)
    {
        try
        {
            return Binder.Bind(Parser.Parse(query), name => SearchAttributeValues.Resolve(ns, name), forCount);
        }
        catch (InvalidQueryException e)
        {
            throw ServiceException.InvalidArgument($"Invalid query {ServiceException.Quote(query)}: {e.Message}.");
        }
    }

    private static Payload KeywordPayload(string value) => new()
    {
        Metadata =
        {
            ["encoding"] = ByteString.CopyFromUtf8("json/plain"),
            ["type"] = ByteString.CopyFromUtf8("Keyword"),
        },
        Data = ByteString.CopyFromUtf8($"\"{value}\""),
    };

    private static VisibilityCursor? DecodeToken(ByteString? token)
    {
        if (token is null || token.IsEmpty)
        {
            return null;
        }

        var parts = Encoding.UTF8.GetString(token.Span).Split(':');
        return parts.Length == 3 && parts[0] == "v1" && long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var key)
            ? new VisibilityCursor(key, parts[2])
            : throw ServiceException.InvalidArgument("Invalid NextPageToken.");
    }
}
