using System.Security.Cryptography;
using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// The hash chains over the audit log (<see cref="AuditChains"/>): a record's hash is SHA-256 of its canonical
/// serialization, which names its chain, its sequence number and its predecessor's hash. Verification walks each chain
/// in stored order from its retention anchor to its head and reports the first record that was edited, removed, moved
/// or cut off the end.
/// </summary>
public static class AuditChain
{
    private const int PageSize = 1000;

    public static byte[] Hash(ReadOnlySpan<byte> data) => SHA256.HashData(data);

    /// <summary>Every chain verified (<see cref="AuditVerification.Chains"/>); intact only if all are, else the first broken chain's result.</summary>
    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var chains = await store.ListAuditChainsAsync(cancellationToken).ConfigureAwait(false);
        var results = new List<AuditVerification>(chains.Count);
        foreach (var chain in chains)
        {
            results.Add(await VerifyChainAsync(store, chain, cancellationToken).ConfigureAwait(false));
        }

        var broken = results.FirstOrDefault(r => !r.IsIntact);
        return (broken ?? AuditVerification.Intact(results.Sum(r => r.Checked), chains.Count)) with { Chains = results };
    }

    private static async Task<AuditVerification> VerifyChainAsync(IAuditStore store, AuditChainHead chain, CancellationToken cancellationToken)
    {
        var name = chain.Chain;
        var previousSequence = chain.Anchor.Sequence;
        var previousHash = Convert.ToHexStringLower(chain.Anchor.Hash);
        long checkedCount = 0;
        while (true)
        {
            var page = await store.ReadAuditAsync(new AuditQuery(name, previousSequence, PageSize), cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                if (previousSequence != chain.Head.Sequence || !Convert.ToHexStringLower(chain.Head.Hash).Equals(previousHash, StringComparison.Ordinal))
                {
                    return AuditVerification.Broken(name, chain.Head.Sequence, AuditTampering.Removed, checkedCount,
                        $"the chain ends at record {previousSequence} but its head is record {chain.Head.Sequence}");
                }

                return AuditVerification.IntactChain(name, checkedCount);
            }

            foreach (var row in page)
            {
                if (row.Sequence != previousSequence + 1)
                {
                    return AuditVerification.Broken(name, row.Sequence, AuditTampering.Removed, checkedCount,
                        $"records {previousSequence + 1}–{row.Sequence - 1} are missing before record {row.Sequence}");
                }

                string claimedChain;
                long claimedSequence;
                string claimedPrevious;
                try
                {
                    (_, claimedChain, claimedSequence, claimedPrevious) = AuditJson.Parse(row.Data);
                }
#pragma warning disable CA1031 // Any unreadable record is an edited one.
                catch (Exception)
#pragma warning restore CA1031
                {
                    return AuditVerification.Broken(name, row.Sequence, AuditTampering.Edited, checkedCount, $"record {row.Sequence} is not a readable audit record");
                }

                if (!Hash(row.Data).AsSpan().SequenceEqual(row.Hash))
                {
                    return AuditVerification.Broken(name, row.Sequence, AuditTampering.Edited, checkedCount, $"record {row.Sequence} does not match its hash");
                }

                if (claimedSequence != row.Sequence || claimedChain != name)
                {
                    return AuditVerification.Broken(name, row.Sequence, AuditTampering.Reordered, checkedCount,
                        $"position {row.Sequence} holds record {claimedSequence} of chain {claimedChain}");
                }

                if (!string.Equals(claimedPrevious, previousHash, StringComparison.Ordinal))
                {
                    // The predecessor's stored hash was recomputed after an edit (or the predecessor replaced).
                    return AuditVerification.Broken(name, previousSequence, AuditTampering.Edited, checkedCount,
                        $"record {previousSequence} is not the record that record {row.Sequence} follows");
                }

                previousSequence = row.Sequence;
                previousHash = Convert.ToHexStringLower(row.Hash);
                checkedCount++;
            }
        }
    }
}
