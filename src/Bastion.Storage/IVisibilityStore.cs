using Bastion.Visibility.Query;

namespace Bastion.Storage;

/// <summary>
/// Reads of visibility rows with a bound list query (rows are written by <see cref="IStorageProvider.CommitAsync"/>
/// with the state change). Every read is confined to one namespace.
/// </summary>
public interface IVisibilityStore
{
    /// <summary>One page in the query's order (start time descending by default), after <see cref="VisibilityPageRequest.After"/>.</summary>
    Task<IReadOnlyList<VisibilityRow>> ListVisibilityAsync(VisibilityPageRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The number of matching rows; grouped by status when the query has <c>GROUP BY ExecutionStatus</c> (then one
    /// entry per status present, else one entry with a null group).
    /// </summary>
    Task<IReadOnlyList<(long? Group, long Count)>> CountVisibilityAsync(string namespaceId, ListQuery query, CancellationToken cancellationToken);
}

/// <param name="Query">A bound query (see <c>Binder</c>).</param>
public sealed record VisibilityPageRequest(string NamespaceId, ListQuery Query, int PageSize, VisibilityCursor? After);

/// <summary>Where a page ended: the order key (ticks of the sort time, 0 for none) and the run id, the tie breaker.</summary>
public sealed record VisibilityCursor(long OrderKey, string RunId);

public sealed record VisibilityRow(string RunId, long OrderKey, byte[] Info);
