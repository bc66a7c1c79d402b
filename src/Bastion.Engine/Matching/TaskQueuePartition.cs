namespace Bastion.Engine.Matching;

/// <summary>
/// One task queue: a backlog of items and the pollers waiting for one. An item is handed straight to a
/// waiting poller when there is one (sync match); a poller that gives up is removed under the same lock,
/// so an item is never handed to a poller that is gone.
/// </summary>
internal sealed class TaskQueuePartition
{
    private readonly Lock _lock = new();
    private readonly LinkedList<MatchItem> _backlog = new();
    private readonly LinkedList<TaskCompletionSource<MatchItem>> _pollers = new();

    private readonly Dictionary<string, DateTime> _pollersSeen = new(StringComparer.Ordinal);

    public DateTime LastPollTime { get; private set; }

    /// <summary>Who polled recently, and when last (DescribeTaskQueue).</summary>
    public List<(string Identity, DateTime LastAccess)> RecentPollers(DateTime since)
    {
        lock (_lock)
        {
            return _pollersSeen.Where(p => p.Value >= since).Select(p => (p.Key, p.Value)).ToList();
        }
    }

    public int BacklogCount
    {
        get
        {
            lock (_lock)
            {
                return _backlog.Count;
            }
        }
    }

    public void Add(MatchItem item, bool front = false)
    {
        lock (_lock)
        {
            while (_pollers.First is { } poller)
            {
                _pollers.RemoveFirst();
                if (poller.Value.TrySetResult(item))
                {
                    return;
                }
            }

            if (front)
            {
                _backlog.AddFirst(item);
            }
            else
            {
                _backlog.AddLast(item);
            }
        }
    }

    /// <summary>Removes and returns every waiting item (a sticky queue whose tasks move to the normal queue).</summary>
    public List<MatchItem> Drain()
    {
        lock (_lock)
        {
            var items = _backlog.ToList();
            _backlog.Clear();
            return items;
        }
    }

    public async Task<MatchItem?> PollAsync(string identity, DateTime now, TimeSpan maxWait, TimeProvider time, CancellationToken cancellationToken)
    {
        TaskCompletionSource<MatchItem> waiter;
        LinkedListNode<TaskCompletionSource<MatchItem>> node;
        lock (_lock)
        {
            LastPollTime = now;
            _pollersSeen[identity] = now;
            if (_backlog.First is { } first)
            {
                _backlog.RemoveFirst();
                return first.Value;
            }

            waiter = new TaskCompletionSource<MatchItem>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _pollers.AddLast(waiter);
        }

        using var timeout = new CancellationTokenSource(maxWait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using (linked.Token.Register(() => waiter.TrySetCanceled()))
        {
            try
            {
                return await waiter.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_lock)
                {
                    if (node.List != null)
                    {
                        _pollers.Remove(node);
                    }
                }

                return null;
            }
        }
    }
}
