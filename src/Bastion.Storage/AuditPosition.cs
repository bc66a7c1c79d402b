using System.Buffers.Text;
using System.Text.Json;

namespace Bastion.Storage;

/// <summary>
/// A reader's place in the audit log: per chain, the last sequence number it has seen (a chain absent: none). A record
/// committed late in one chain is found on a later page and never skipped, whatever the other chains did meanwhile.
/// </summary>
public sealed class AuditPosition
{
    private readonly Dictionary<string, long> _after;

    public AuditPosition(IReadOnlyDictionary<string, long> after)
    {
        ArgumentNullException.ThrowIfNull(after);
        _after = new Dictionary<string, long>(after, StringComparer.Ordinal);
    }

    public static AuditPosition Start { get; } = new(new Dictionary<string, long>());

    public IReadOnlyDictionary<string, long> Chains => _after;

    /// <summary>The last sequence number seen in <paramref name="chain"/> (0: none).</summary>
    public long After(string chain) => _after.TryGetValue(chain, out var seq) ? seq : 0;

    /// <summary>This position moved past <paramref name="records"/>.</summary>
    public AuditPosition Past(IEnumerable<StoredAuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var after = new Dictionary<string, long>(_after, StringComparer.Ordinal);
        foreach (var record in records)
        {
            after[record.Chain] = Math.Max(after.GetValueOrDefault(record.Chain), record.Sequence);
        }

        return new AuditPosition(after);
    }

    /// <summary>An opaque page token (base64url of the chain → sequence map).</summary>
    public string ToToken() => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(_after));

    /// <summary>Reads a token <see cref="ToToken"/> made; false for anything else.</summary>
    public static bool TryParseToken(string token, out AuditPosition position)
    {
        position = Start;
        try
        {
            var after = JsonSerializer.Deserialize<Dictionary<string, long>>(Base64Url.DecodeFromChars(token));
            if (after is null || after.Values.Any(seq => seq < 0))
            {
                return false;
            }

            position = new AuditPosition(after);
            return true;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return false;
        }
    }
}
