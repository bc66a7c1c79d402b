using Bastion.Visibility;
using Bastion.Visibility.Sql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// PostgreSQL's spelling of the visibility filter. The attribute map is a <c>jsonb</c> column holding the JSON
/// the SQLite store holds (<see cref="VisibilityRecord.SearchAttributesJson"/>), so one encoder serves both.
/// </summary>
/// <remarks>
/// A value is read only when its JSON type is the attribute's, else it is NULL: a cast of a stray value would fail
/// the whole list, where SQLite merely compares it unequal. Text compares by code point, as SQLite's BINARY does.
/// </remarks>
public sealed class PostgresVisibilityDialect : ISqlDialect
{
    public static PostgresVisibilityDialect Instance { get; } = new();

    /// <summary>Named placeholders, so a caller's own parameters (<c>@ns</c>, keyset cursors) sit beside them.</summary>
    public string Parameter(int index) => $"@p{index}";

    public string MapValue(AttributeDefinition attribute)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        var value = $"search_attributes -> {Key(attribute)}";
        return attribute.Type switch
        {
            SearchAttributeType.Keyword or SearchAttributeType.Text =>
                $"(CASE WHEN jsonb_typeof({value}) = 'string' THEN search_attributes ->> {Key(attribute)} END) COLLATE \"C\"",
            SearchAttributeType.Int or SearchAttributeType.Datetime => $"(CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::bigint END)",
            SearchAttributeType.Double => $"(CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::double precision END)",
            SearchAttributeType.Bool => $"(CASE WHEN jsonb_typeof({value}) = 'boolean' THEN ({value})::boolean END)",

            // Only IS [NOT] NULL reads a list this way; containment is ListContains.
            SearchAttributeType.KeywordList => $"(CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} END)",
            _ => throw new InvalidOperationException($"Search attribute {attribute.Name} of type {attribute.Type} has no scalar value."),
        };
    }

    /// <summary>Containment of a one-element list: the GIN index on the attribute map answers it.</summary>
    public string ListContains(AttributeDefinition attribute, string parameter)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        return $"search_attributes @> jsonb_build_object({Key(attribute)}, jsonb_build_array(CAST({parameter} AS text)))";
    }

    /// <summary>Case is ignored for ASCII letters only (lower() under "C"), as SQLite's lower() does.</summary>
    public string TextContains(string expression, string parameter) =>
        $"strpos(lower(({expression}) COLLATE \"C\"), lower(CAST({parameter} AS text) COLLATE \"C\")) > 0";

    public object BoolValue(bool value) => value;

    /// <summary>Attribute names are checked at registration (letters, digits, '_', '-'); a quote here would be a bug.</summary>
    private static string Key(AttributeDefinition attribute) =>
        attribute.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            ? $"'{attribute.Name}'"
            : throw new InvalidOperationException($"Search attribute name {attribute.Name} is not safe in SQL.");
}
