namespace Bastion.Visibility.Sql;

/// <summary>A WHERE-clause fragment and its parameters, in the order of their placeholders.</summary>
public sealed record SqlFilter(string Where, IReadOnlyList<object> Parameters);
