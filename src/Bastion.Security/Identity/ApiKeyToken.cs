using System.Security.Cryptography;
using System.Text;

namespace Bastion.Security.Identity;

/// <summary>
/// The API key as a client holds it: <c>bst_&lt;public id&gt;_&lt;secret&gt;</c>, the secret 32 random bytes
/// (256 bits) in base64url. The server keeps the public id and SHA-256 of the secret. A token of another shape
/// (an operator-chosen bootstrap key) is accepted whole as the secret, its public id derived from its hash.
/// </summary>
public readonly record struct ApiKeyToken(string PublicId, byte[] Secret)
{
    private const string Prefix = "bst_";
    private const int PublicIdLength = 16;
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>A new random key: 80-bit public id, 256-bit secret. Returns the token the client must keep.</summary>
    public static (ApiKeyToken Key, string Token) Generate()
    {
        var id = string.Create(PublicIdLength, 0, static (chars, _) =>
        {
            Span<byte> random = stackalloc byte[PublicIdLength];
            RandomNumberGenerator.Fill(random);
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = Base32[random[i] & 31];
            }
        });
        var secret = RandomNumberGenerator.GetBytes(32);
        var encoded = Convert.ToBase64String(secret).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (new ApiKeyToken(id, Encoding.ASCII.GetBytes(encoded)), $"{Prefix}{id}_{encoded}");
    }

    /// <summary>The public id and secret of a presented token (any non-empty string parses).</summary>
    public static ApiKeyToken Parse(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (token.Length > Prefix.Length + PublicIdLength + 1
            && token.StartsWith(Prefix, StringComparison.Ordinal)
            && token[Prefix.Length + PublicIdLength] == '_')
        {
            return new ApiKeyToken(token.Substring(Prefix.Length, PublicIdLength), Encoding.UTF8.GetBytes(token[(Prefix.Length + PublicIdLength + 1)..]));
        }

        var whole = Encoding.UTF8.GetBytes(token);
        var derived = SHA256.HashData([.. "bastion-api-key-id:"u8, .. whole]);
        return new ApiKeyToken("k" + Convert.ToHexStringLower(derived)[..(PublicIdLength - 1)], whole);
    }

    /// <summary>What the store keeps of the secret.</summary>
    public byte[] Hash() => SHA256.HashData(Secret);

    /// <summary>Whether this token's secret is the one <paramref name="storedHash"/> was made from, in constant time.</summary>
    public bool Matches(byte[] storedHash) => CryptographicOperations.FixedTimeEquals(Hash(), storedHash);
}
