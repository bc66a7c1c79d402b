namespace Bastion.Engine.Matching;

/// <summary>
/// A partition's waiting items in dispatch order (not thread-safe: the partition's lock guards it). One sub-queue per
/// priority level (<see cref="DispatchPolicy.LevelOf"/>), the lowest level first. Within a level, with fairness off,
/// FIFO. With fairness on, Temporal's stride scheduling: each item gets a pass, <c>max(ack, last pass of its key +
/// 1000 / weight)</c>, where the ack is the pass of the level's last taken item, and items leave in (pass, arrival)
/// order — so keys share dispatch in proportion to their weights, however long one key's backlog is, and a key new to
/// the backlog starts level with the head. Unkeyed items (the empty key) stay in a linked list, where their passes rise
/// with arrival; keyed items wait in a heap. So the common item (no priority, no fairness key) costs O(1) and nothing
/// beyond its list node to add and to take.
/// </summary>
internal sealed class PriorityBacklog
{
    /// <summary>Temporal's <c>strideFactor</c>: a weight-1 key's pass moves on by this much per task.</summary>
    private const long Stride = 1000;

    private Level?[] _levels = new Level?[DispatchPolicy.DefaultLevels + 1];
    private long _arrivals;
    private long _frontArrivals;

    public int Count { get; private set; }

    /// <summary>
    /// Adds an item that arrived at <paramref name="added"/>; a <paramref name="front"/> item (one coming back, or a query)
    /// goes ahead of its level.
    /// </summary>
    public void Add(MatchItem item, bool front, DispatchPolicy policy, DateTime added)
    {
        var levelIndex = policy.LevelOf(item);
        if (levelIndex >= _levels.Length)
        {
            Array.Resize(ref _levels, levelIndex + 1);
        }

        var level = _levels[levelIndex] ??= new Level();
        var key = policy.Fairness ? item.Priority.FairnessKey : null;
        var order = front ? --_frontArrivals : ++_arrivals;
        var pass = front ? level.Ack : policy.Fairness ? level.NextPass(key ?? string.Empty, item.Priority.EffectiveWeight(policy.Overrides)) : 0;
        var entry = new Entry(item, pass, order, added);
        if (key is null)
        {
            if (front)
            {
                level.Unkeyed.AddFirst(entry);
            }
            else
            {
                level.Unkeyed.AddLast(entry);
            }
        }
        else
        {
            (level.Keyed ??= new PriorityQueue<Entry, (long, long)>()).Enqueue(entry, (pass, order));
        }

        level.Count++;
        Count++;
    }

    /// <summary>The item that goes next, left in place; null when there is none.</summary>
    public MatchItem? Peek() => Head(out _, out _) is { } entry ? entry.Item : null;

    /// <summary>When the item that goes next arrived (the backlog's approximate age); null when there is none.</summary>
    public DateTime? HeadAdded() => Head(out _, out _) is { } entry ? entry.Added : null;

    /// <summary>Takes the item <see cref="Peek"/> named.</summary>
    public MatchItem Take()
    {
        var entry = Head(out var level, out var keyed) ?? throw new InvalidOperationException("The backlog is empty.");
        if (keyed)
        {
            level.Keyed!.Dequeue();
        }
        else
        {
            level.Unkeyed.RemoveFirst();
        }

        level.Ack = Math.Max(level.Ack, entry.Pass);
        if (--level.Count == 0)
        {
            level.Passes?.Clear(); // no backlog left: every key starts level again
        }

        Count--;
        return entry.Item;
    }

    /// <summary>Removes and returns every item, in dispatch order.</summary>
    public List<MatchItem> TakeAll()
    {
        var items = new List<MatchItem>(Count);
        while (Count > 0)
        {
            items.Add(Take());
        }

        return items;
    }

    /// <summary>How many items wait at each level (1..n; 0 holds queries), for DescribeTaskQueue's per-priority stats.</summary>
    public IEnumerable<(int Level, int Count)> CountsByLevel()
    {
        for (var i = 0; i < _levels.Length; i++)
        {
            if (_levels[i] is { Count: > 0 } level)
            {
                yield return (i, level.Count);
            }
        }
    }

    private Entry? Head(out Level level, out bool keyed)
    {
        foreach (var candidate in _levels)
        {
            if (candidate is not { Count: > 0 })
            {
                continue;
            }

            level = candidate;
            var first = candidate.Unkeyed.First;
            if (candidate.Keyed is { Count: > 0 } heap && heap.TryPeek(out var top, out var rank)
                && (first is null || rank.CompareTo((first.Value.Pass, first.Value.Order)) < 0))
            {
                keyed = true;
                return top;
            }

            keyed = false;
            return first!.Value;
        }

        level = null!;
        keyed = false;
        return null;
    }

    private readonly record struct Entry(MatchItem Item, long Pass, long Order, DateTime Added);

    private sealed class Level
    {
        public readonly LinkedList<Entry> Unkeyed = new();

        public PriorityQueue<Entry, (long, long)>? Keyed;

        /// <summary>Each key's last pass (fairness on), while the level has a backlog.</summary>
        public Dictionary<string, long>? Passes;

        /// <summary>The pass of the last item taken: no new item is placed before it.</summary>
        public long Ack;

        public int Count;

        public long NextPass(string key, float weight)
        {
            var passes = Passes ??= new Dictionary<string, long>(StringComparer.Ordinal);
            var increment = Math.Max(1, (long)(Stride / weight));
            var pass = Math.Max(Ack, passes.GetValueOrDefault(key) + increment);
            passes[key] = pass;
            return pass;
        }
    }
}
