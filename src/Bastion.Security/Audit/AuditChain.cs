using System.Security.Cryptography;
using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// The hash chain over the audit log: a record's hash is SHA-256 of its canonical serialization, which names its
/// sequence number and its predecessor's hash. Verification walks the stored order from the retention anchor and
/// reports the first record that was edited, removed or moved.
/// </summary>
public static class AuditChain
{
    private const int PageSize = 1000;

    public static byte[] Hash(ReadOnlySpan<byte> data) => SHA256.HashData(data);

    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var anchor = await store.ReadAuditAnchorAsync(cancellationToken).ConfigureAwait(false);
        var previousSequence = anchor.Sequence;
        var previousHash = Convert.ToHexStringLower(anchor.Hash);
        long checkedCount = 0;
        while (true)
        {
            var page = await store.ReadAuditAsync(new AuditQuery(previousSequence, PageSize), cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return AuditVerification.Intact(checkedCount);
            }

            foreach (var row in page)
            {
                if (row.Sequence != previousSequence + 1)
                {
                    return AuditVerification.Broken(row.Sequence, AuditTampering.Removed, checkedCount,
                        $"records {previousSequence + 1}–{row.Sequence - 1} are missing before record {row.Sequence}");
                }

                long claimedSequence;
                string claimedPrevious;
                try
                {
                    (_, claimedSequence, claimedPrevious) = AuditJson.Parse(row.Data);
                }
#pragma warning disable CA1031 // Any unreadable record is an edited one.
                catch (Exception)
#pragma warning restore CA1031
                {
                    return AuditVerification.Broken(row.Sequence, AuditTampering.Edited, checkedCount, $"record {row.Sequence} is not a readable audit record");
                }

                if (!Hash(row.Data).AsSpan().SequenceEqual(row.Hash))
                {
                    return AuditVerification.Broken(row.Sequence, AuditTampering.Edited, checkedCount, $"record {row.Sequence} does not match its hash");
                }

                if (claimedSequence != row.Sequence)
                {
                    return AuditVerification.Broken(row.Sequence, AuditTampering.Reordered, checkedCount,
                        $"position {row.Sequence} holds record {claimedSequence}");
                }

                if (!string.Equals(claimedPrevious, previousHash, StringComparison.Ordinal))
                {
                    // The predecessor's stored hash was recomputed after an edit (or the predecessor replaced).
                    return AuditVerification.Broken(previousSequence, AuditTampering.Edited, checkedCount,
                        $"record {previousSequence} is not the record that record {row.Sequence} follows");
                }

                previousSequence = row.Sequence;
                previousHash = Convert.ToHexStringLower(row.Hash);
                checkedCount++;
            }
        }
    }
}
