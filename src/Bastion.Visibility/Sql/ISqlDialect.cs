namespace Bastion.Visibility.Sql;

/// <summary>
/// What differs between databases when a bound filter becomes SQL. The shape of the WHERE clause is the
/// writer's (<see cref="SqlFilterWriter"/>); a dialect only spells attribute-map access and a few functions.
/// </summary>
public interface ISqlDialect
{
    /// <summary>The placeholder of the n-th parameter, e.g. <c>$p3</c>.</summary>
    string Parameter(int index);

    /// <summary>A scalar attribute of the row's attribute map (custom and predefined attributes), typed for comparison.</summary>
    string MapValue(AttributeDefinition attribute);

    /// <summary>True when the attribute map's list <paramref name="attribute"/> holds the parameter's value.</summary>
    string ListContains(AttributeDefinition attribute, string parameter);

    /// <summary>True when the Text value holds the parameter (Temporal matches Text by its words; here: contains, ignoring case).</summary>
    string TextContains(string expression, string parameter);

    /// <summary>The value to bind for a bool (databases without a bool type take 1/0).</summary>
    object BoolValue(bool value);
}
