using Bastion.Engine.History;

namespace Bastion.Engine.Cluster;

/// <summary>
/// The one framing of the cluster's internal messages (<see cref="CrossRunOperation"/>, the server's cluster calls): a
/// version byte, then fields written with <see cref="BinaryWriter"/>; byte strings length-prefixed and bounded on read;
/// a truncated or malformed message is <see cref="InvalidDataException"/>.
/// </summary>
internal static class ClusterBinary
{
    public static byte[] Write(byte version, Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(version);
            write(writer);
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Reads a message written by <see cref="Write"/> in a version from <paramref name="oldest"/> to
    /// <paramref name="newest"/>, which <paramref name="read"/> is given; <paramref name="what"/> names it in errors.
    /// </summary>
    public static T Read<T>(byte[] data, byte oldest, byte newest, string what, Func<BinaryReader, byte, T> read)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(read);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data, writable: false), System.Text.Encoding.UTF8);
            var found = reader.ReadByte();
            return found >= oldest && found <= newest
                ? read(reader, found)
                : throw new InvalidDataException($"A {what} of version {found} (this node reads {oldest} to {newest}): nodes of one cluster must run builds at most one release apart.");
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"A truncated {what}.", e);
        }
    }

    public static void WriteBytes(this BinaryWriter w, byte[] bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    public static byte[] ReadBytes(this BinaryReader r)
    {
        var length = r.ReadInt32();
        return length < 0 || length > r.BaseStream.Length - r.BaseStream.Position
            ? throw new InvalidDataException("A cluster message with a bad length.")
            : r.ReadBytes(length);
    }

    public static void WriteOptional(this BinaryWriter w, byte[]? bytes)
    {
        w.Write(bytes is not null);
        if (bytes is not null)
        {
            w.WriteBytes(bytes);
        }
    }

    public static byte[]? ReadOptionalBytes(this BinaryReader r) => r.ReadBoolean() ? r.ReadBytes() : null;

    public static void WriteOptional(this BinaryWriter w, string? text)
    {
        w.Write(text is not null);
        if (text is not null)
        {
            w.Write(text);
        }
    }

    public static string? ReadOptionalString(this BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    public static void Write(this BinaryWriter w, WorkflowKey key)
    {
        w.Write(key.NamespaceId);
        w.Write(key.WorkflowId);
        w.Write(key.RunId);
    }

    public static WorkflowKey ReadKey(this BinaryReader r) => new(r.ReadString(), r.ReadString(), r.ReadString());
}
