namespace Bastion.Storage;

/// <summary>What a stored record is, bound into its encoding so a ciphertext cannot be moved to another row.</summary>
public readonly record struct RecordIdentity(string NamespaceId, string Table, string Key);

/// <summary>
/// The seam between engine and store for everything that carries customer data: record bytes, identifiers kept
/// in text columns, and the blind indexes that lookups on encrypted identifiers use. The store never sees a key.
/// </summary>
public interface IRecordCodec
{
    byte[] Encode(RecordIdentity identity, byte[] plain);

    /// <summary>The record's bytes; a record altered, or moved from another row, is refused (<see cref="InvalidDataException"/>).</summary>
    byte[] Decode(RecordIdentity identity, byte[] encoded);

    /// <summary>A text value for a text column (workflow id, task queue): encoded as <see cref="Encode"/> does, in base64.</summary>
    string EncodeText(RecordIdentity identity, string plain);

    string DecodeText(RecordIdentity identity, string encoded);

    /// <summary>
    /// A keyed blind index of <paramref name="value"/> for equality lookups (workflow ids, search-attribute
    /// filters): equal inputs give equal indexes within a namespace and purpose; nothing else can be learnt.
    /// </summary>
    string Index(string namespaceId, string purpose, string value);
}
