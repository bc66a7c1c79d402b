namespace Bastion.Visibility;

/// <summary>The types of search attributes, numbered as Temporal's <c>IndexedValueType</c>.</summary>
#pragma warning disable CA1720 // The names are Temporal's type names, as they appear on the wire and in payload metadata.
public enum SearchAttributeType
{
    Text = 1,
    Keyword = 2,
    Int = 3,
    Double = 4,
    Bool = 5,
    Datetime = 6,
    KeywordList = 7,
}
#pragma warning restore CA1720
