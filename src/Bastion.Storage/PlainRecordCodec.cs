namespace Bastion.Storage;

/// <summary>
/// Stores records as they are (format byte 0 + bytes) and identifiers as they are: encryption at rest off, for
/// databases written by Bastion versions without it.
/// </summary>
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
            throw new InvalidDataException(
                $"Record {identity.Table}/{identity.Key} is not plain (format {(encoded.Length == 0 ? "none" : encoded[0])}): the database is encrypted.");
        }

        return encoded[1..];
    }

    public string EncodeText(RecordIdentity identity, string plain) => plain;

    public string DecodeText(RecordIdentity identity, string encoded) => encoded;

    public string Index(string namespaceId, string purpose, string value) => value;
}
