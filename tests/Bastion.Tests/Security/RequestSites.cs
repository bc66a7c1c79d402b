using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Bastion.Tests.Security;

/// <summary>A field somewhere inside a request type: the path of fields from the request down to it.</summary>
internal sealed record FieldSite(IReadOnlyList<FieldDescriptor> Path)
{
    public FieldDescriptor Leaf => Path[^1];

    /// <summary>The path as the server names it: <c>commands[0].start_timer_command_attributes.start_to_fire_timeout</c>.</summary>
    public string Name => string.Join(".", Path.Select((f, i) => i < Path.Count - 1 && f.IsRepeated ? f.Name + "[0]" : f.Name));

    public bool IsTimestamp => Leaf.FieldType == FieldType.Message && Leaf.MessageType.FullName == "google.protobuf.Timestamp";

    public bool IsDuration => Leaf.FieldType == FieldType.Message && Leaf.MessageType.FullName == "google.protobuf.Duration";

    public bool IsEnum => Leaf.FieldType == FieldType.Enum;

    public override string ToString() => Name;
}

/// <summary>
/// Walks request types by their descriptors (the services' own, so a new field or method is covered without a
/// change here) and sets a value at a site, creating the messages on its way (the first element of a repeated field).
/// </summary>
internal static class RequestSites
{
    /// <summary>Every scalar, enum, Timestamp and Duration field reachable from <paramref name="root"/> through singular and repeated messages (maps and Any are skipped).</summary>
    public static IEnumerable<FieldSite> Walk(MessageDescriptor root, int maxDepth)
    {
        var path = new List<FieldDescriptor>();
        var onPath = new HashSet<MessageDescriptor> { root };
        return Walk(root, maxDepth, path, onPath).ToList();
    }

    private static IEnumerable<FieldSite> Walk(MessageDescriptor type, int maxDepth, List<FieldDescriptor> path, HashSet<MessageDescriptor> onPath)
    {
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (field.IsMap)
            {
                continue;
            }

            path.Add(field);
            if (field.FieldType != FieldType.Message || field.MessageType.FullName is "google.protobuf.Timestamp" or "google.protobuf.Duration")
            {
                yield return new FieldSite(path.ToArray());
            }
            else if (path.Count < maxDepth && !field.MessageType.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal) && onPath.Add(field.MessageType))
            {
                foreach (var site in Walk(field.MessageType, maxDepth, path, onPath))
                {
                    yield return site;
                }

                onPath.Remove(field.MessageType);
            }

            path.RemoveAt(path.Count - 1);
        }
    }

    public static IMessage New(MessageDescriptor type) => (IMessage)Activator.CreateInstance(type.ClrType)!;

    /// <summary>Sets <paramref name="value"/> at <paramref name="site"/> in <paramref name="request"/>; an enum value is given as its number.</summary>
    public static void Set(IMessage request, FieldSite site, object value)
    {
        var message = request;
        foreach (var field in site.Path.Take(site.Path.Count - 1))
        {
            if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                if (list.Count == 0)
                {
                    list.Add(New(field.MessageType));
                }

                message = (IMessage)list[0]!;
            }
            else
            {
                if (field.Accessor.GetValue(message) is not IMessage inner)
                {
                    inner = New(field.MessageType);
                    field.Accessor.SetValue(message, inner);
                }

                message = inner;
            }
        }

        var leaf = site.Leaf;
        if (leaf.FieldType == FieldType.Enum)
        {
            value = Enum.ToObject(leaf.EnumType.ClrType, value);
        }

        if (leaf.IsRepeated)
        {
            ((IList)leaf.Accessor.GetValue(message)).Add(value);
        }
        else
        {
            leaf.Accessor.SetValue(message, value);
        }
    }
}
