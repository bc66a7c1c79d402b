using System.Text.RegularExpressions;
using Bastion.Engine.Errors;
using Bastion.Visibility;

namespace Bastion.Frontend.OperatorService;

/// <summary>
/// The rules for adding custom search attributes to a namespace, shared by OperatorService.AddSearchAttributes and
/// the dev server's <c>--search-attribute</c>: valid, unreserved names, known types, no type change, a bounded count.
/// </summary>
internal static partial class CustomSearchAttributes
{
    /// <summary>Custom attributes a namespace may hold (Temporal Cloud allows about this many in total).</summary>
    public const int MaxPerNamespace = 100;

    /// <summary>
    /// <paramref name="current"/> with <paramref name="added"/>: re-adding an attribute with the same type is a no-op,
    /// with another type ALREADY_EXISTS; a bad name or type, or too many, INVALID_ARGUMENT.
    /// </summary>
    public static Dictionary<string, SearchAttributeType> Add(
        IReadOnlyDictionary<string, SearchAttributeType> current, IEnumerable<KeyValuePair<string, SearchAttributeType>> added)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(added);
        var attributes = new Dictionary<string, SearchAttributeType>(current, StringComparer.Ordinal);
        foreach (var (name, type) in added)
        {
            if (!NameRule().IsMatch(name) || SystemAttributes.IsReserved(name))
            {
                throw ServiceException.InvalidArgument(
                    $"Search attribute name {ServiceException.Quote(name)} is invalid or reserved: use up to 64 letters, digits, '_' and '-', starting with a letter, not a system name or one starting with Temporal.");
            }

            if (!Enum.IsDefined(type))
            {
                throw ServiceException.InvalidArgument($"Search attribute {ServiceException.Quote(name)} has an unknown type {(int)type}.");
            }

            if (attributes.TryGetValue(name, out var existing) && existing != type)
            {
                throw new ServiceException(ErrorKind.AlreadyExists, $"Search attribute {ServiceException.Quote(name)} already exists with type {existing}.");
            }

            attributes[name] = type;
        }

        if (attributes.Count > MaxPerNamespace)
        {
            throw ServiceException.InvalidArgument($"A namespace may have at most {MaxPerNamespace} custom search attributes.");
        }

        return attributes;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex NameRule();
}
