namespace Bastion.Storage;

/// <summary>What a stored record is, bound into its encoding so a ciphertext cannot be moved to another row.</summary>
public readonly record struct RecordIdentity(string NamespaceId, string Table, string Key);

/// <summary>
/// The seam between engine and store for everything that carries customer data. Plain today; AES-256-GCM with
/// per-namespace keys plugs in here without touching SQL.
/// </summary>
public interface IRecordCodec
{
    byte[] Encode(RecordIdentity identity, byte[] plain);

    byte[] Decode(RecordIdentity identity, byte[] encoded);
}

/// <summary>Stores records as they are (format byte 0 + bytes), leaving room for other formats.</summary>
public sealed class PlainRecordCodec : IRecordCodec
{
    private const byte FormatPlain = 0;

    public byte[] Encode(RecordIdentity identity, byte[] plain)
    {
        ArgumentNullException.ThrowIfNull(plain);
        var result = new byte[plain.Length + 1];
        result[0] = FormatPlain;
        plain.CopyTo(result, 1);
        return result;
    }

    public byte[] Decode(RecordIdentity identity, byte[] encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (encoded.Length == 0 || encoded[0] != FormatPlain)
        {
            throw new InvalidDataException($"Record {identity.Table}/{identity.Key} has an unknown encoding.");
        }

        return encoded[1..];
    }
}
