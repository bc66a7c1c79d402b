using System.Collections.Concurrent;

namespace Bastion.Engine.Matching;

/// <summary>
/// Task queues in memory. They are a cache of committed state: every item was derived from a committed
/// transfer task and is re-derived from the store on start, so losing the process loses nothing.
/// </summary>
internal sealed class MatchingEngine(TimeProvider time)
{
    private readonly ConcurrentDictionary<QueueKey, TaskQueuePartition> _queues = new();

    public void Add(QueueKey queue, MatchItem item, bool front = false) => Get(queue).Add(item, front);

    public Task<MatchItem?> PollAsync(QueueKey queue, string identity, TimeSpan maxWait, CancellationToken cancellationToken) =>
        Get(queue).PollAsync(identity, time.GetUtcNow().UtcDateTime, maxWait, time, cancellationToken);

    /// <summary>Pollers seen on a queue within <paramref name="window"/>, with when each last polled.</summary>
    public List<(string Identity, DateTime LastAccess)> RecentPollers(QueueKey queue, TimeSpan window) =>
        _queues.TryGetValue(queue, out var partition) ? partition.RecentPollers(time.GetUtcNow().UtcDateTime - window) : [];

    /// <summary>True if someone polled the queue within <paramref name="window"/>.</summary>
    public bool HasRecentPoller(QueueKey queue, TimeSpan window) =>
        _queues.TryGetValue(queue, out var partition) && time.GetUtcNow().UtcDateTime - partition.LastPollTime < window;

    /// <summary>Every queue in memory with its backlog (the <c>approximate_backlog_count</c> gauge).</summary>
    public IEnumerable<(QueueKey Queue, int Count)> Backlogs() => _queues.Select(q => (q.Key, q.Value.BacklogCount));

    public int BacklogCount(QueueKey queue) => _queues.TryGetValue(queue, out var partition) ? partition.BacklogCount : 0;

    /// <summary>Takes every waiting item out of a queue (a sticky queue whose worker shut down).</summary>
    public List<MatchItem> Drain(QueueKey queue) => _queues.TryGetValue(queue, out var partition) ? partition.Drain() : [];

    private TaskQueuePartition Get(QueueKey queue) => _queues.GetOrAdd(queue, static _ => new TaskQueuePartition());
}
