namespace Bastion.Engine.Matching;

/// <summary>
/// One task queue partition: a backlog of items and the pollers waiting for one. An item is handed straight to a
/// waiting poller when there is one (sync match); a poller that gives up is removed under the same lock,
/// so an item is never handed to a poller that is gone.
/// </summary>
internal sealed class TaskQueuePartition
{
    /// <summary>How many of a partition's polls wait at the queue's root at once; its other pollers wait here.</summary>
    private const int MaxForwardedPolls = 1;

    private readonly Lock _lock = new();
    private readonly LinkedList<MatchItem> _backlog = new();
    private readonly LinkedList<TaskCompletionSource<MatchItem>> _pollers = new();

    private readonly Dictionary<string, DateTime> _pollersSeen = new(StringComparer.Ordinal);
    private int _forwardedPolls;
    private bool _draining;

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
            if (HandToPoller(item))
            {
                return;
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

    /// <summary>Hands <paramref name="item"/> to a poller waiting here, if there is one; never keeps it.</summary>
    public bool TryMatch(MatchItem item)
    {
        lock (_lock)
        {
            return HandToPoller(item);
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

    /// <summary>The first waiting item, taken for <paramref name="identity"/>'s poll without waiting; null when there is none.</summary>
    public MatchItem? TryTake(string identity, DateTime now)
    {
        lock (_lock)
        {
            LastPollTime = now;
            _pollersSeen[identity] = now;
            return TakeFirst();
        }
    }

    /// <summary>The first waiting item, to offer to the queue's root; null when there is none.</summary>
    public MatchItem? TakeForRoot()
    {
        lock (_lock)
        {
            return TakeFirst();
        }
    }

    /// <summary>True, and counted until <see cref="EndForward"/>, when one more of this partition's polls may wait at the root.</summary>
    public bool TryBeginForward()
    {
        lock (_lock)
        {
            if (_forwardedPolls >= MaxForwardedPolls)
            {
                return false;
            }

            _forwardedPolls++;
            return true;
        }
    }

    public void EndForward()
    {
        lock (_lock)
        {
            _forwardedPolls--;
        }
    }

    /// <summary>True when the caller is to run the loop that offers this partition's backlog to the root (one at a time).</summary>
    public bool TryStartDrain()
    {
        lock (_lock)
        {
            if (_draining || _backlog.Count == 0)
            {
                return false;
            }

            _draining = true;
            return true;
        }
    }

    /// <summary>Ends the offering loop; true when items arrived meanwhile and it must start again.</summary>
    public bool EndDrain()
    {
        lock (_lock)
        {
            _draining = false;
            return _backlog.Count > 0;
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
            if (TakeFirst() is { } first)
            {
                return first;
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

    private bool HandToPoller(MatchItem item)
    {
        while (_pollers.First is { } poller)
        {
            _pollers.RemoveFirst();
            if (poller.Value.TrySetResult(item))
            {
                return true;
            }
        }

        return false;
    }

    private MatchItem? TakeFirst()
    {
        if (_backlog.First is not { } first)
        {
            return null;
        }

        _backlog.RemoveFirst();
        return first.Value;
    }
}
