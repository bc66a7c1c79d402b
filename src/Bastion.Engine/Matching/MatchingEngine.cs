using System.Collections.Concurrent;

namespace Bastion.Engine.Matching;

/// <summary>
/// Task queues in memory. They are a cache of committed state: every item was derived from a committed
/// transfer task and is re-derived from the store on start, so losing the process loses nothing.
/// In a cluster a normal task queue has several partitions (<see cref="Partitions"/>), each owned by a node, so one busy
/// queue is matched on several nodes. A partition matches what it can itself and keeps the rest; while it keeps items,
/// its first one waits at the queue's root too (<see cref="OfferHold"/> at a time, then offered again), where the next
/// poller of the root takes it; a partition whose backlog is empty sends one of its polls to wait at the root (the
/// request handlers do that). So a task and a poller meet wherever each of them landed, as in Temporal's matching
/// service, and a partition no worker polls directly does not strand its tasks.
/// </summary>
internal sealed class MatchingEngine(TimeProvider time)
{
    /// <summary>How long a poller is listed after its last poll (DescribeTaskQueue).</summary>
    public static readonly TimeSpan PollerWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a partition's first kept item waits at the root for a poller before it is offered again (a root that
    /// does not hold offers — a node of an older build — is offered once per <see cref="s_drainInterval"/>).
    /// </summary>
    public static readonly TimeSpan OfferHold = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan s_drainInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<QueueKey, TaskQueuePartition> _queues = new();
    private readonly ConcurrentDictionary<QueueKey, DispatchLimiter> _limiters = new();

    /// <summary>The namespaces' workers as their heartbeats describe them (ListWorkers, DescribeWorker).</summary>
    public Workers.WorkerRegistry Workers { get; } = new(time);

    /// <summary>
    /// Partitions of a normal task queue in a cluster (<c>matching.numTaskqueueReadPartitions</c>; Temporal's default is 4);
    /// a standalone server and sticky queues use one. One by default until the tail latency measured with four is
    /// fixed (<c>docs/benchmarks.md</c>).
    /// </summary>
    public int Partitions { get; set; } = 1;

    /// <summary>
    /// Offers an item to a queue's root partition, wherever it lives, held there up to the given time for a poller: true
    /// when a poller there took it. Set by the engine in a cluster; a failure counts as not taken.
    /// </summary>
    public Func<QueueKey, MatchItem, TimeSpan, Task<bool>>? OfferToRoot { get; set; }

    public void Add(QueueKey queue, MatchItem item, bool front = false)
    {
        var partition = Get(queue);
        partition.Add(item, front);
        if (!queue.IsRoot && OfferToRoot is not null)
        {
            KeepOffering(queue, partition);
        }
    }

    /// <summary>
    /// After the cluster's members changed: the polls waiting on partitions held here that <paramref name="ownedHere"/>
    /// says live on another node now end empty, so their workers poll again and reach that node — where the queue's
    /// tasks are handed from now on (a poll forwarded here by a node whose view of the members was behind waits here
    /// otherwise for its whole long poll while its tasks go elsewhere). Returns how many ended.
    /// </summary>
    public int ReleaseMovedPolls(Func<QueueKey, bool> ownedHere)
    {
        ArgumentNullException.ThrowIfNull(ownedHere);
        var released = 0;
        foreach (var (queue, partition) in _queues)
        {
            if (!ownedHere(queue))
            {
                released += partition.ReleasePollers();
            }
        }

        return released;
    }

    /// <summary>Hands <paramref name="item"/> to a poller waiting on <paramref name="queue"/> (a root), if one is; never keeps it.</summary>
    public bool TryOffer(QueueKey queue, MatchItem item) => _queues.TryGetValue(queue, out var partition) && partition.TryMatch(item);

    /// <summary>
    /// Hands <paramref name="item"/>, which another partition of <paramref name="root"/>'s queue could not match, to a
    /// poller waiting at the root, or holds it there up to <paramref name="hold"/> for the next (<see cref="TaskQueuePartition.HoldAsync"/>).
    /// </summary>
    public Task<bool> HoldAsync(QueueKey root, MatchItem item, TimeSpan hold, CancellationToken cancellationToken) =>
        Get(root).HoldAsync(item, hold, time, cancellationToken);

    /// <summary>When a poll's answer suggests a change to the worker's number of polls (Temporal's <c>matching.pollerScaling*</c>).</summary>
    public PollerScalingOptions PollerScaling { get; } = new();

    /// <summary>
    /// The poller scaling decision for a poll of <paramref name="queue"/> that began at <paramref name="pollStarted"/> and
    /// took a task from it just now: +1, -1, or null for none (<see cref="PollerScaler"/>).
    /// </summary>
    public int? ScalingDecision(QueueKey queue, DateTime pollStarted) =>
        _queues.TryGetValue(queue, out var partition) ? partition.ScalingDecision(PollerScaling, pollStarted, queue.IsRoot) : null;

    /// <summary>Waits for an item on <paramref name="queue"/>; the calling flow's audit record goes with the poll (a claim's commit carries it).</summary>
    public Task<MatchItem?> PollAsync(QueueKey queue, string identity, TimeSpan maxWait, CancellationToken cancellationToken) =>
        Get(queue).PollAsync(identity, time.GetUtcNow().UtcDateTime, maxWait, time, cancellationToken, Storage.PendingAudit.Ambient);

    /// <summary>A poll waiting on <paramref name="queue"/> taken for a transition that starts <paramref name="item"/> for it (<see cref="TaskQueuePartition.TryClaim"/>); null when none waits.</summary>
    public PollerClaim? TryClaim(QueueKey queue, MatchItem item) => _queues.TryGetValue(queue, out var partition) ? partition.TryClaim(item, queue) : null;

    /// <summary>A waiting item of <paramref name="queue"/>, taken for a poll without waiting; null when there is none.</summary>
    public MatchItem? TryTake(QueueKey queue, string identity) => Get(queue).TryTake(identity, time.GetUtcNow().UtcDateTime);

    /// <summary>True when one more poll of partition <paramref name="queue"/> may wait at the root; then <see cref="EndForward"/> when it returns.</summary>
    public bool TryBeginForward(QueueKey queue) => Get(queue).TryBeginForward();

    public void EndForward(QueueKey queue) => Get(queue).EndForward();

    /// <summary>Pollers seen on a queue within <paramref name="window"/>, with when each last polled.</summary>
    public List<(string Identity, DateTime LastAccess)> RecentPollers(QueueKey queue, TimeSpan window) =>
        _queues.TryGetValue(queue, out var partition) ? partition.RecentPollers(time.GetUtcNow().UtcDateTime - window) : [];

    /// <summary>Pollers seen within <paramref name="window"/> on every partition (and version sub-queue) of <paramref name="queue"/> held here.</summary>
    public List<(string Identity, DateTime LastAccess)> RecentPollersOfAllPartitions(QueueKey queue, TimeSpan window) =>
        [.. PartitionsOf(queue)
            .SelectMany(p => p.RecentPollers(time.GetUtcNow().UtcDateTime - window))];

    /// <summary>The partitions of <paramref name="queue"/> this engine has seen a task or poll for.</summary>
    public List<int> HeldPartitions(QueueKey queue) => [.. _queues.Keys.Where(q => q.Root == queue.Root).Select(q => q.Partition).Order()];

    /// <summary>True if someone polled the queue within <paramref name="window"/>.</summary>
    public bool HasRecentPoller(QueueKey queue, TimeSpan window) =>
        _queues.TryGetValue(queue, out var partition) && time.GetUtcNow().UtcDateTime - partition.LastPollTime < window;

    /// <summary>Every queue in memory with its backlog (the <c>approximate_backlog_count</c> gauge).</summary>
    public IEnumerable<(QueueKey Queue, int Count)> Backlogs() => _queues.Select(q => (q.Key, q.Value.BacklogCount));

    public int BacklogCount(QueueKey queue) => _queues.TryGetValue(queue, out var partition) ? partition.BacklogCount : 0;

    /// <summary>Every queue held here of task queue <paramref name="name"/> (both types, every partition and version sub-queue).</summary>
    public List<QueueKey> HeldQueues(string namespaceId, string name) =>
        [.. _queues.Keys.Where(q => q.NamespaceId == namespaceId && q.Name == name)];

    /// <summary>Takes every waiting item out of a queue (a sticky queue whose worker shut down).</summary>
    public List<MatchItem> Drain(QueueKey queue) => _queues.TryGetValue(queue, out var partition) ? partition.Drain() : [];

    /// <summary>
    /// Over every partition (and version sub-queue) of <paramref name="queue"/> held here: how long the oldest item that
    /// goes next on one of them has waited (zero: none waits), and the tasks added and dispatched per second.
    /// </summary>
    public (TimeSpan BacklogAge, double AddRate, double DispatchRate) Stats(QueueKey queue)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var (age, added, dispatched) = (TimeSpan.Zero, 0.0, 0.0);
        foreach (var partition in PartitionsOf(queue))
        {
            var stats = partition.Stats();
            if (stats.Oldest is { } oldest && now - oldest > age)
            {
                age = now - oldest;
            }

            added += stats.AddRate;
            dispatched += stats.DispatchRate;
        }

        return (age, added, dispatched);
    }

    /// <summary>Items waiting per priority key on every partition (and version sub-queue) of <paramref name="queue"/> held here.</summary>
    public Dictionary<int, int> BacklogByPriority(QueueKey queue)
    {
        var counts = new Dictionary<int, int>();
        foreach (var partition in PartitionsOf(queue))
        {
            foreach (var (level, count) in partition.BacklogByLevel().Where(l => l.Level > 0))
            {
                counts[level] = counts.GetValueOrDefault(level) + count;
            }
        }

        return counts;
    }

    /// <summary>Every partition (and version sub-queue) of <paramref name="queue"/>'s task queue and type held here.</summary>
    private IEnumerable<TaskQueuePartition> PartitionsOf(QueueKey queue) =>
        _queues.Where(q => q.Key.NamespaceId == queue.NamespaceId && q.Key.Name == queue.Name && q.Key.Type == queue.Type).Select(q => q.Value);

    private TaskQueuePartition Get(QueueKey queue) => _queues.GetOrAdd(queue, q => new TaskQueuePartition(LimiterOf(q), time, PolicyOf(q)));

    /// <summary>Whether the backlog is ordered by priority key (Temporal's <c>matching.useNewMatcher</c>; on by default, as in Temporal's current releases).</summary>
    public bool UsePriority { get; set; } = true;

    /// <summary>How many priority levels there are (<c>matching.priorityLevels</c>; 5, the default key being 3).</summary>
    public int PriorityLevels { get; set; } = DispatchPolicy.DefaultLevels;

    /// <summary>Whether fairness keys share dispatch by weight (<c>matching.enableFairness</c>; off by default, as in Temporal).</summary>
    public bool EnableFairness { get; set; }

    /// <summary>
    /// A queue's fairness settings from UpdateTaskQueueConfig (namespace id, name, type): the fairness-key default rate
    /// limit of the whole queue, if any, and the weight overrides, if any.
    /// </summary>
    public Func<string, string, TaskCategory, (double? KeyRate, IReadOnlyDictionary<string, float>? Overrides)>? ConfiguredFairness { get; set; }

    /// <summary>How a partition of <paramref name="queue"/> orders its backlog now; the key rate is this partition's share.</summary>
    private DispatchPolicy PolicyOf(QueueKey queue)
    {
        var (keyRate, overrides) = ConfiguredFairness?.Invoke(queue.NamespaceId, queue.Name, queue.Type) ?? default;
        return new DispatchPolicy(UsePriority || EnableFairness, Math.Max(1, PriorityLevels), EnableFairness, keyRate / ReadPartitions, overrides); // fairness implies priority, as Temporal's
    }

    /// <summary>
    /// The dispatch limiter of an activity queue's partition (every version sub-queue of it shares one); workflow queues
    /// have none (Temporal refuses a rate limit on them, and workers set none there).
    /// </summary>
    private DispatchLimiter? LimiterOf(QueueKey queue)
    {
        if (queue.Type != TaskCategory.Activity)
        {
            return null;
        }

        return _limiters.GetOrAdd(queue with { Version = string.Empty }, q =>
        {
            var limiter = new DispatchLimiter(time);
            limiter.SetApiRate(ConfiguredRate?.Invoke(q.NamespaceId, q.Name), ReadPartitions);
            return limiter;
        });
    }

    /// <summary>Partitions a queue is matched on: <see cref="Partitions"/> in a cluster, one on a standalone server.</summary>
    private int ReadPartitions => OfferToRoot is null ? 1 : Math.Max(1, Partitions);

    /// <summary>The queue-wide rate limit UpdateTaskQueueConfig set for an activity queue (namespace id, name), if any.</summary>
    public Func<string, string, double?>? ConfiguredRate { get; set; }

    /// <summary>A queue's configuration changed: every partition of it held here applies its rate limits and fairness settings at once.</summary>
    public void ConfiguredRateChanged(string namespaceId, string name)
    {
        foreach (var (key, partition) in _queues.Where(q => q.Key.NamespaceId == namespaceId && q.Key.Name == name))
        {
            partition.PolicyChanged(PolicyOf(key));
        }

        var rate = ConfiguredRate?.Invoke(namespaceId, name);
        foreach (var (key, limiter) in _limiters.Where(l => l.Key.NamespaceId == namespaceId && l.Key.Name == name))
        {
            limiter.SetApiRate(rate, ReadPartitions);
            foreach (var partition in _queues.Where(q => q.Key with { Version = string.Empty } == key).Select(q => q.Value))
            {
                partition.RateChanged();
            }
        }
    }

    /// <summary>A poll of an activity queue's partition carried <c>max_tasks_per_second</c> (or none, which clears it).</summary>
    public void WorkerRatePolled(QueueKey partition, double? rate)
    {
        if (LimiterOf(partition) is not { } limiter)
        {
            return;
        }

        var before = limiter.Effective;
        limiter.SetWorkerRate(rate);
        if (limiter.Effective != before)
        {
            foreach (var held in _queues.Where(q => q.Key with { Version = string.Empty } == partition with { Version = string.Empty }).Select(q => q.Value))
            {
                held.RateChanged();
            }
        }
    }

    /// <summary>The whole queue's effective dispatch rate and its source, from the partition's limiter held here; null: no limit.</summary>
    public (double Rate, Temporalio.Api.Enums.V1.RateLimitSource Source)? EffectiveRate(QueueKey partition) =>
        _limiters.TryGetValue(partition with { Version = string.Empty }, out var limiter) ? limiter.Effective
            : ConfiguredRate?.Invoke(partition.NamespaceId, partition.Name) is { } api && partition.Type == TaskCategory.Activity ? (api, Temporalio.Api.Enums.V1.RateLimitSource.Api) : null;

    private void KeepOffering(QueueKey queue, TaskQueuePartition partition)
    {
        if (partition.TryStartDrain())
        {
            _ = OfferBacklogAsync(queue, partition);
        }
    }

    /// <summary>
    /// While a partition keeps items, its first one waits at the root (<see cref="OfferHold"/>); taken there, the next
    /// goes at once, else the item comes back (a poller here gets it) and is offered again — no sooner than
    /// <see cref="s_drainInterval"/> after the last offer began, should the root not hold offers.
    /// </summary>
    private async Task OfferBacklogAsync(QueueKey queue, TaskQueuePartition partition)
    {
        try
        {
            while (partition.BacklogCount > 0)
            {
                if (partition.TakeForRoot() is not { } item)
                {
                    await Task.Delay(s_drainInterval, time).ConfigureAwait(false); // a rate limit holds the backlog back
                    continue;
                }

                var began = time.GetUtcNow();
                if (await OfferAsync(queue, item).ConfigureAwait(false))
                {
                    continue;
                }

                partition.RefundToken();
                partition.Return(item);
                if (began + s_drainInterval - time.GetUtcNow() is { } pause && pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, time).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (partition.EndDrain())
            {
                KeepOffering(queue, partition);
            }
        }
    }

    private async Task<bool> OfferAsync(QueueKey queue, MatchItem item)
    {
        try
        {
            return await OfferToRoot!(queue.Root, item, OfferHold).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // An offer that failed (the root's node is moving) is as an offer not taken: the item stays here.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }
}
