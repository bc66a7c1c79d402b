using Bastion.Visibility.Query;

namespace Bastion.Storage;

/// <summary>
/// The order of a visibility list, as every dialect writes it: the query's ORDER BY column (start time by default,
/// an open run's close time as 0) and its direction, ties broken by run id in the same direction — the keyset of
/// <see cref="VisibilityCursor"/>.
/// </summary>
public sealed record VisibilityOrder(string KeySql, bool Descending)
{
    public static VisibilityOrder Of(ListQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var order = query.OrderBy.Count > 0 ? query.OrderBy[0] : null;
        var key = order?.Attribute.Definition.Column switch
        {
            null => "start_time",
            "close_time" => "COALESCE(close_time, 0)",
            { } column => column,
        };
        return new VisibilityOrder(key, order?.Descending ?? true);
    }

    public string Direction => Descending ? "DESC" : "ASC";

    /// <summary>The keyset condition for rows after the cursor, with its parameters named <paramref name="key"/> and <paramref name="runId"/>.</summary>
    public string After(string key, string runId) => $"({KeySql}, run_id) {(Descending ? "<" : ">")} ({key}, {runId})";
}
