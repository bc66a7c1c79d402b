using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Bastion.Storage.Encryption;

/// <summary>
/// Encryption at rest: AES-256-GCM with the namespace's current data key, a fresh random 96-bit nonce per record,
/// and the record's identity (namespace, table, key) as associated data, so a ciphertext copied to another row
/// fails authentication. Format 1: <c>[1][key version, 4 bytes big-endian][nonce 12][tag 16][ciphertext]</c>.
/// </summary>
public sealed class AesGcmRecordCodec : IRecordCodec
{
    public const byte Format = 1;
    private const int VersionSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + VersionSize + NonceSize + TagSize;
    private const int MaxCachedCiphers = 64;
    private readonly KeyRing _keys;

    // AesGcm is not thread-safe, and making one per record (a native context and a key expansion) cost measurable
    // throughput: each thread keeps one per key, found by the key array's identity (the ring hands out the same array).
    [ThreadStatic]
    private static Dictionary<byte[], AesGcm>? t_ciphers;

    public AesGcmRecordCodec(KeyRing keys) => _keys = keys;

    public byte[] Encode(RecordIdentity identity, byte[] plain)
    {
        ArgumentNullException.ThrowIfNull(plain);
        var (version, key) = _keys.Current(identity.NamespaceId);
        var result = new byte[HeaderSize + plain.Length];
        result[0] = Format;
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(1, VersionSize), version);
        var nonce = result.AsSpan(1 + VersionSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Cipher(key).Encrypt(nonce, plain, result.AsSpan(HeaderSize), result.AsSpan(1 + VersionSize + NonceSize, TagSize), AssociatedData(identity));
        return result;
    }

    public byte[] Decode(RecordIdentity identity, byte[] encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        var version = VersionOf(encoded)
            ?? throw new InvalidDataException($"Record {identity.Table}/{identity.Key} is not encrypted (format {(encoded.Length == 0 ? "none" : encoded[0])}).");
        var plain = new byte[encoded.Length - HeaderSize];
        try
        {
            Cipher(_keys.Get(identity.NamespaceId, version)).Decrypt(
                encoded.AsSpan(1 + VersionSize, NonceSize),
                encoded.AsSpan(HeaderSize),
                encoded.AsSpan(1 + VersionSize + NonceSize, TagSize),
                plain,
                AssociatedData(identity));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidDataException(
                $"Record {identity.Table}/{identity.Key} of namespace {identity.NamespaceId} failed authentication: it was altered or copied from another row.");
        }

        return plain;
    }

    public string EncodeText(RecordIdentity identity, string plain) => Convert.ToBase64String(Encode(identity, Encoding.UTF8.GetBytes(plain)));

    public string DecodeText(RecordIdentity identity, string encoded)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"Record {identity.Table}/{identity.Key} is not encrypted text.");
        }

        return Encoding.UTF8.GetString(Decode(identity, bytes));
    }

    public string Index(string namespaceId, string purpose, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var mac = HMACSHA256.HashData(_keys.IndexKey(namespaceId), Encoding.UTF8.GetBytes($"{purpose}\0{value}"));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The key version of an encrypted record, or null when it is not in this format.</summary>
    public static int? VersionOf(byte[] encoded) =>
        encoded is { Length: >= HeaderSize } && encoded[0] == Format ? BinaryPrimitives.ReadInt32BigEndian(encoded.AsSpan(1, VersionSize)) : null;

    private static AesGcm Cipher(byte[] key)
    {
        var ciphers = t_ciphers ??= new Dictionary<byte[], AesGcm>(ReferenceEqualityComparer.Instance);
        if (!ciphers.TryGetValue(key, out var cipher))
        {
            if (ciphers.Count >= MaxCachedCiphers)
            {
                // Many namespaces, or retired keys: start over rather than grow without bound.
                foreach (var old in ciphers.Values)
                {
                    old.Dispose();
                }

                ciphers.Clear();
            }

            cipher = new AesGcm(key, TagSize);
            ciphers[key] = cipher;
        }

        return cipher;
    }

    private static byte[] AssociatedData(RecordIdentity identity) =>
        Encoding.UTF8.GetBytes($"{identity.NamespaceId}\0{identity.Table}\0{identity.Key}");
}
