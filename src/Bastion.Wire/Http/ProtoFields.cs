using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Google.Protobuf.Reflection;

namespace Bastion.Wire.Http;

/// <summary>Field and enum lookups by the names protojson allows: the proto name and the JSON (lowerCamel) name.</summary>
internal static class ProtoFields
{
    private static readonly ConcurrentDictionary<MessageDescriptor, Dictionary<string, FieldDescriptor>> s_byName = new();

    public static FieldDescriptor? Find(MessageDescriptor message, string name) =>
        s_byName.GetOrAdd(message, static m =>
        {
            var map = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
            foreach (var f in m.Fields.InDeclarationOrder())
            {
                map[f.Name] = f;
                map.TryAdd(f.JsonName, f);
            }

            return map;
        }).GetValueOrDefault(name);

    /// <summary>True for google.protobuf.* types, which protojson renders in their own forms (strings, Any, …).</summary>
    public static bool IsWellKnown(MessageDescriptor message) => message.File.Package == "google.protobuf";

    /// <summary>
    /// The canonical name of an enum value given by name, by number, or in the older Temporal JSON form without the
    /// type prefix (<c>Running</c> for <c>WORKFLOW_EXECUTION_STATUS_RUNNING</c>); null when none fits.
    /// </summary>
    public static string? CanonicalEnumName(EnumDescriptor type, string value)
    {
        if (type.FindValueByName(value) is { } exact)
        {
            return exact.Name;
        }

        if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return type.FindValueByNumber(number)?.Name;
        }

        return type.FindValueByName(ScreamingSnake(type.Name) + "_" + ScreamingSnake(value))?.Name;
    }

    private static string ScreamingSnake(string pascal)
    {
        var text = new StringBuilder(pascal.Length + 8);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            var boundary = i > 0 && char.IsUpper(c)
                && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]) || (i + 1 < pascal.Length && char.IsLower(pascal[i + 1]) && char.IsUpper(pascal[i - 1])));
            if (boundary)
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(c));
        }

        return text.ToString();
    }
}
