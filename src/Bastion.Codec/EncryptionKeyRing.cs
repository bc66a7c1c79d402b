using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bastion.Codec;

/// <summary>
/// The AES-256 keys a payload codec uses, by id: new payloads are encrypted with the current key, and any key of the
/// ring decrypts the payloads that name it, so a rotation adds a key and makes it current while old payloads stay
/// readable. Stored as JSON: <c>{"currentKeyId": "k2", "keys": {"k1": "base64", "k2": "base64"}}</c>.
/// </summary>
public sealed class EncryptionKeyRing
{
    private const int KeySize = 32;
    private readonly Dictionary<string, byte[]> _keys;

    public EncryptionKeyRing(string currentKeyId, IReadOnlyDictionary<string, byte[]> keys)
    {
        ArgumentException.ThrowIfNullOrEmpty(currentKeyId);
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var (id, key) in keys)
        {
            if (key.Length != KeySize)
            {
                throw new ArgumentException($"Key {id} has {key.Length} bytes; AES-256 needs {KeySize}.", nameof(keys));
            }
        }

        _keys = keys.ToDictionary(k => k.Key, k => k.Value.ToArray(), StringComparer.Ordinal);
        CurrentKeyId = _keys.ContainsKey(currentKeyId) ? currentKeyId : throw new ArgumentException($"The current key {currentKeyId} is not in the ring.", nameof(currentKeyId));
    }

    public string CurrentKeyId { get; }

    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <summary>The key named <paramref name="keyId"/>, or null when the ring does not hold it.</summary>
    public byte[]? Find(string keyId) => _keys.GetValueOrDefault(keyId);

    /// <summary>A ring with one new random key, made current.</summary>
    public EncryptionKeyRing WithNewKey(string keyId)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        if (_keys.ContainsKey(keyId))
        {
            throw new ArgumentException($"Key {keyId} is already in the ring.", nameof(keyId));
        }

        return new EncryptionKeyRing(keyId, new Dictionary<string, byte[]>(_keys, StringComparer.Ordinal) { [keyId] = RandomNumberGenerator.GetBytes(KeySize) });
    }

    /// <summary>A ring of one new random key.</summary>
    public static EncryptionKeyRing Generate(string keyId) =>
        new(keyId, new Dictionary<string, byte[]>(StringComparer.Ordinal) { [keyId] = RandomNumberGenerator.GetBytes(KeySize) });

    public static EncryptionKeyRing FromJson(string json)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("A key ring is a JSON object.");
        var current = root["currentKeyId"]?.GetValue<string>() ?? throw new FormatException("The key ring has no currentKeyId.");
        var keys = root["keys"] as JsonObject ?? throw new FormatException("The key ring has no keys object.");
        return new EncryptionKeyRing(current, keys.ToDictionary(k => k.Key, k => Convert.FromBase64String(k.Value?.GetValue<string>() ?? string.Empty), StringComparer.Ordinal));
    }

    public string ToJson()
    {
        var keys = new JsonObject();
        foreach (var (id, key) in _keys.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            keys[id] = Convert.ToBase64String(key);
        }

        return new JsonObject { ["currentKeyId"] = CurrentKeyId, ["keys"] = keys }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
