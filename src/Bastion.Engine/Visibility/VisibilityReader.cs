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
internal sealed partial class VisibilityReader(IVisibilityStore store, IRecordCodec codec)
{
    public const int MaxPageSize = 1000;

    public async Task<(List<WorkflowExecutionInfo> Executions, ByteString NextPageToken)> ListAsync(
        NamespaceEntry ns, string? query, int pageSize, ByteString? pageToken)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var bound = Bind(ns, query, forCount: false);
        var size = pageSize <= 0 || pageSize > MaxPageSize ? MaxPageSize : pageSize;
        var after = DecodeToken(pageToken);
        return await ListPageAsync(ns, bound, size, after).ConfigureAwait(false);
    }

    public async Task<CountWorkflowExecutionsResponse> CountAsync(NamespaceEntry ns, string? query)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var bound = Bind(ns, query, forCount: true);
        var counts = await CountAsync(ns, bound).ConfigureAwait(false);
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

    /// <summary>
    /// One page. SQL answers the pre-filter (blind indexes for equality on protected text); when predicates are
    /// left for the decoded rows, the store is read in batches from the cursor until the page is full or the rows
    /// run out. The token is the last row returned, so rows read but not returned are read again next page.
    /// </summary>
    private async Task<(List<WorkflowExecutionInfo>, ByteString)> ListPageAsync(NamespaceEntry ns, ListQuery bound, int size, VisibilityCursor? after)
    {
        var sqlQuery = bound with { Filter = VisibilityProtection.PreFilter(bound.Filter, ns.Id, codec, out var exact) };
        var executions = new List<WorkflowExecutionInfo>(size);
        VisibilityRow? last = null;
        while (true)
        {
            var rows = await store.ListVisibilityAsync(new VisibilityPageRequest(ns.Id, sqlQuery, size, after), CancellationToken.None).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var info = Decode(ns, row);
                if (exact || VisibilityProtection.Matches(bound.Filter, info))
                {
                    executions.Add(info);
                    last = row;
                    if (executions.Count == size)
                    {
                        return (executions, Token(last));
                    }
                }
            }

            if (rows.Count < size)
            {
                return (executions, ByteString.Empty);
            }

            after = new VisibilityCursor(rows[^1].OrderKey, rows[^1].RunId);
        }
    }

    /// <summary>Counts in SQL when the pre-filter is exact; else counts the decoded rows that match, by status.</summary>
    private async Task<IReadOnlyList<(long? Group, long Count)>> CountAsync(NamespaceEntry ns, ListQuery bound)
    {
        var sqlFilter = VisibilityProtection.PreFilter(bound.Filter, ns.Id, codec, out var exact);
        if (exact)
        {
            return await store.CountVisibilityAsync(ns.Id, bound with { Filter = sqlFilter }, CancellationToken.None).ConfigureAwait(false);
        }

        var byStatus = new SortedDictionary<long, long>();
        var scan = new ListQuery(bound.Text, sqlFilter, [], []);
        VisibilityCursor? after = null;
        while (true)
        {
            var rows = await store.ListVisibilityAsync(new VisibilityPageRequest(ns.Id, scan, MaxPageSize, after), CancellationToken.None).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var info = Decode(ns, row);
                if (VisibilityProtection.Matches(bound.Filter, info))
                {
                    byStatus[(long)info.Status] = byStatus.GetValueOrDefault((long)info.Status) + 1;
                }
            }

            if (rows.Count < MaxPageSize)
            {
                break;
            }

            after = new VisibilityCursor(rows[^1].OrderKey, rows[^1].RunId);
        }

        return bound.GroupBy.Count > 0
            ? byStatus.Select(p => ((long?)p.Key, p.Value)).ToList()
            : [(null, byStatus.Values.Sum())];
    }

    private WorkflowExecutionInfo Decode(NamespaceEntry ns, VisibilityRow row) =>
        WorkflowExecutionInfo.Parser.ParseFrom(codec.Decode(RecordIdentities.Visibility(ns.Id, row.RunId), row.Info));

    private static ByteString Token(VisibilityRow last) =>
        ByteString.CopyFromUtf8(FormattableString.Invariant($"v1:{last.OrderKey}:{last.RunId}"));

    /// <summary>
    /// Parses and binds a workflow query; a problem is INVALID_ARGUMENT naming the position and the query. As in
    /// Temporal, a query that does not name <c>TemporalNamespaceDivision</c> sees only rows without one (workflows,
    /// not standalone activities).
    /// </summary>
    public static ListQuery Bind(NamespaceEntry ns, string? query, bool forCount)
    {
        try
        {
            var parsed = Parser.Parse(query);
            if (!Names(parsed.Filter, DivisionAttribute))
            {
                parsed = parsed with { Filter = Within(parsed.Filter, new IsNullExpr(new AttributeName(DivisionAttribute, 0), Negated: false)) };
            }

            return Binder.Bind(parsed, name => SearchAttributeValues.Resolve(ns, name), forCount);
        }
        catch (InvalidQueryException e)
        {
            throw ServiceException.InvalidArgument($"Invalid query {ServiceException.Quote(query)}: {e.Message}.");
        }
    }

    private const string DivisionAttribute = "TemporalNamespaceDivision";

    /// <summary>The filter confined by <paramref name="scope"/> (ANDed before it).</summary>
    internal static Expr Within(Expr? filter, Expr scope) => filter is null ? scope : new AndExpr(scope, filter);

    /// <summary>Whether the filter names the attribute anywhere.</summary>
    private static bool Names(Expr? expr, string attribute) => expr switch
    {
        AndExpr and => Names(and.Left, attribute) || Names(and.Right, attribute),
        OrExpr or => Names(or.Left, attribute) || Names(or.Right, attribute),
        CompareExpr c => c.Attribute.Name == attribute,
        InExpr i => i.Attribute.Name == attribute,
        BetweenExpr b => b.Attribute.Name == attribute,
        StartsWithExpr s => s.Attribute.Name == attribute,
        IsNullExpr n => n.Attribute.Name == attribute,
        _ => false,
    };

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
