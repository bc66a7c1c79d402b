using Bastion.Visibility;

namespace Bastion.Cli;

/// <summary><c>--search-attribute NAME=TYPE</c> as Temporal's start-dev takes it: the type's name in any case.</summary>
internal static class SearchAttributeSyntax
{
    public static KeyValuePair<string, SearchAttributeType> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var typeName = eq < 0 ? string.Empty : text[(eq + 1)..].Trim();

        // By name only: Enum.TryParse would also take a number.
        var type = Enum.GetValues<SearchAttributeType>().Where(t => string.Equals(t.ToString(), typeName, StringComparison.OrdinalIgnoreCase)).ToList();
        if (eq <= 0 || type.Count != 1)
        {
            throw new ArgumentException(
                $"--search-attribute {text}: expected NAME=TYPE, TYPE one of {string.Join(", ", Enum.GetNames<SearchAttributeType>())}.");
        }

        return KeyValuePair.Create(text[..eq].Trim(), type[0]);
    }
}
