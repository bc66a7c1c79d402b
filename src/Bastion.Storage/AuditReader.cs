namespace Bastion.Storage;

/// <summary>
/// Reads the audit log across its chains in one order — commit time, then chain, then sequence — from a per-chain
/// position: each chain is read after its own cursor and the results merged, so a page is a prefix of that order in
/// every chain. Used by <c>GetAuditLogs</c>, export and the CLI.
/// </summary>
public static class AuditReader
{
    /// <param name="filter">The filters to apply (its chain, sequence and limit are ignored).</param>
    /// <returns>Up to <paramref name="limit"/> records, the position after them, and whether more follow.</returns>
    public static async Task<AuditRead> ReadAsync(IAuditStore store, AuditPosition after, int limit, AuditQuery? filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(after);
        var candidates = new List<StoredAuditRecord>();
        foreach (var chain in await store.ListAuditChainsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (chain.Head.Sequence <= after.After(chain.Chain))
            {
                continue; // nothing new in it
            }

            var query = (filter ?? new AuditQuery(chain.Chain, 0, 0)) with { Chain = chain.Chain, AfterSequence = after.After(chain.Chain), Limit = limit + 1 };
            candidates.AddRange(await store.ReadAuditAsync(query, cancellationToken).ConfigureAwait(false));
        }

        candidates.Sort(static (a, b) =>
        {
            var byTime = a.CommitTime.CompareTo(b.CommitTime);
            if (byTime != 0)
            {
                return byTime;
            }

            var byChain = string.CompareOrdinal(a.Chain, b.Chain);
            return byChain != 0 ? byChain : a.Sequence.CompareTo(b.Sequence);
        });
        var page = candidates.Count > limit ? candidates.GetRange(0, limit) : candidates;
        return new AuditRead(page, after.Past(page), candidates.Count > limit);
    }
}

/// <summary>Records read, the position after them, and whether more follow.</summary>
public sealed record AuditRead(IReadOnlyList<StoredAuditRecord> Records, AuditPosition Next, bool More);
