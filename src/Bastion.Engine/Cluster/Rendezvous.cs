namespace Bastion.Engine.Cluster;

/// <summary>
/// Highest-random-weight (rendezvous) hashing: each node scores each key, the highest score owns it. When a node joins
/// or leaves, only the keys it wins or held move; every node computes the same owner from the same live set, with no
/// coordination. Scores are stable across processes and versions (FNV-1a over the text, then a 64-bit finalizer to
/// spread FNV's weak low bits), unlike <see cref="string.GetHashCode()"/>.
/// </summary>
public static class Rendezvous
{
    /// <summary>The owner of <paramref name="key"/> among <paramref name="nodes"/>; null when there is none.</summary>
    public static string? OwnerOf(string key, IReadOnlyCollection<string> nodes)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(nodes);
        string? owner = null;
        var best = 0UL;
        foreach (var node in nodes)
        {
            var score = Score(node, key);
            // Ties (astronomically rare) go to the smaller node id, so every node still agrees.
            if (owner is null || score > best || (score == best && string.CompareOrdinal(node, owner) < 0))
            {
                owner = node;
                best = score;
            }
        }

        return owner;
    }

    public static ulong Score(string node, string key)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(key);
        var hash = 14695981039346656037UL;
        foreach (var c in node)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash = (hash ^ 0xFFFF) * 1099511628211UL; // a separator no text char equals, so ("ab","c") and ("a","bc") differ
        foreach (var c in key)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        // splitmix64's finalizer
        hash = (hash ^ (hash >> 30)) * 0xBF58476D1CE4E5B9UL;
        hash = (hash ^ (hash >> 27)) * 0x94D049BB133111EBUL;
        return hash ^ (hash >> 31);
    }

    /// <summary>The key a shard is placed by.</summary>
    public static string ShardKey(int shard) => $"shard/{shard}";
}
