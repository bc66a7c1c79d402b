using Bastion.Visibility;
using Bastion.Visibility.Sql;

namespace Bastion.Storage.Sqlite;

/// <summary>SQLite's spelling of the visibility filter: the attribute map is a JSON column read with JSON1.</summary>
internal sealed class SqliteVisibilityDialect : ISqlDialect
{
    public static SqliteVisibilityDialect Instance { get; } = new();

    public string Parameter(int index) => $"$p{index}";

    public string MapValue(AttributeDefinition attribute) => $"json_extract(search_attributes, {Path(attribute)})";

    public string ListContains(AttributeDefinition attribute, string parameter) =>
        $"EXISTS (SELECT 1 FROM json_each(search_attributes, {Path(attribute)}) WHERE value = {parameter})";

    public string TextContains(string expression, string parameter) => $"instr(lower({expression}), lower({parameter})) > 0";

    public object BoolValue(bool value) => value ? 1L : 0L;

    /// <summary>Attribute names are checked at registration (letters, digits, '_', '-'); a quote here would be a bug.</summary>
    private static string Path(AttributeDefinition attribute) =>
        attribute.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            ? $"'$.\"{attribute.Name}\"'"
            : throw new InvalidOperationException($"Search attribute name {attribute.Name} is not safe in a JSON path.");
}
