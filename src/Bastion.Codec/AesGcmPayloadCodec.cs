using System.Security.Cryptography;
using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Converters;

namespace Bastion.Codec;

/// <summary>
/// Client-side encryption of Temporal payloads: each payload (metadata and data) is encrypted whole with AES-256-GCM
/// under the key ring's current key and a fresh 96-bit nonce. The result has encoding <c>binary/encrypted</c>, the
/// key id in <c>encryption-key-id</c>, and data <c>nonce ‖ ciphertext ‖ tag</c>. Payloads in any other encoding
/// decode as they are, so a workflow can start using the codec mid-history. Use it as the data converter's
/// <c>PayloadCodec</c> on clients and workers: <c>DataConverter.Default with { PayloadCodec = codec }</c>.
/// </summary>
public sealed class AesGcmPayloadCodec : IPayloadCodec
{
    public const string Encoding = "binary/encrypted";
    public const string KeyIdKey = "encryption-key-id";
    public const string CipherKey = "encryption-cipher";
    public const string Cipher = "AES256GCM";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly EncryptionKeyRing _keys;

    public AesGcmPayloadCodec(EncryptionKeyRing keys) => _keys = keys ?? throw new ArgumentNullException(nameof(keys));

    public Task<IReadOnlyCollection<Payload>> EncodeAsync(IReadOnlyCollection<Payload> payloads) =>
        Task.FromResult<IReadOnlyCollection<Payload>>([.. payloads.Select(Encode)]);

    public Task<IReadOnlyCollection<Payload>> DecodeAsync(IReadOnlyCollection<Payload> payloads) =>
        Task.FromResult<IReadOnlyCollection<Payload>>([.. payloads.Select(Decode)]);

    public Payload Encode(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var keyId = _keys.CurrentKeyId;
        var plain = payload.ToByteArray();
        var data = new byte[NonceSize + plain.Length + TagSize];
        var nonce = data.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys.Find(keyId)!, TagSize);
        aes.Encrypt(nonce, plain, data.AsSpan(NonceSize, plain.Length), data.AsSpan(NonceSize + plain.Length), AssociatedData(keyId));
        return new Payload
        {
            Metadata =
            {
                ["encoding"] = ByteString.CopyFromUtf8(Encoding),
                [KeyIdKey] = ByteString.CopyFromUtf8(keyId),
                [CipherKey] = ByteString.CopyFromUtf8(Cipher),
            },
            Data = ByteString.CopyFrom(data),
        };
    }

    public Payload Decode(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (!payload.Metadata.TryGetValue("encoding", out var encoding) || encoding.ToStringUtf8() != Encoding)
        {
            return payload;
        }

        var keyId = payload.Metadata.TryGetValue(KeyIdKey, out var id) ? id.ToStringUtf8() : throw new InvalidOperationException("An encrypted payload names no key.");
        var key = _keys.Find(keyId) ?? throw new InvalidOperationException($"The payload was encrypted with key {keyId}, which this key ring does not hold.");
        var data = payload.Data.Span;
        if (data.Length < NonceSize + TagSize)
        {
            throw new InvalidOperationException("An encrypted payload is too short.");
        }

        var plain = new byte[data.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        try
        {
            aes.Decrypt(data[..NonceSize], data[NonceSize..^TagSize], data[^TagSize..], plain, AssociatedData(keyId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidOperationException($"An encrypted payload (key {keyId}) failed authentication: it was altered.");
        }

        return Payload.Parser.ParseFrom(plain);
    }

    // The key id is bound into the ciphertext, so rewriting it in the metadata cannot redirect decryption.
    private static byte[] AssociatedData(string keyId) => System.Text.Encoding.UTF8.GetBytes("bastion-payload\0" + keyId);
}
