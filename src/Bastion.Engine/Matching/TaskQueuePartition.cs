using Bastion.Storage;

namespace Bastion.Engine.Matching;

/// <summary>
/// One task queue partition: a backlog of items and the pollers waiting for one. An item is handed straight to a
/// waiting poller when there is one and nothing waits ahead of it (sync match); a poller that gives up is removed under
/// the same lock, so an item is never handed to a poller that is gone. The backlog hands out items in the order of
/// <see cref="DispatchPolicy"/> (<see cref="PriorityBacklog"/>: priority levels, then fairness keys by weight). A
/// partition with a dispatch rate limit (<see cref="DispatchLimiter"/>) or a fairness-key rate limit
/// (<see cref="FairnessKeyLimiter"/>) hands an item out only when both allow; the next item waits meanwhile (as in
/// Temporal, the head of the backlog is not skipped), and a timer on the server's clock hands it to a waiting poller
/// when it may go.
/// </summary>
internal sealed class TaskQueuePartition(DispatchLimiter? limiter = null, TimeProvider? time = null, DispatchPolicy? policy = null)
{
    /// <summary>How many of a partition's polls wait at the queue's root at once; its other pollers wait here.</summary>
    private const int MaxForwardedPolls = 1;

    private static readonly TimeSpan s_minimumWait = TimeSpan.FromMilliseconds(1);

    private readonly Lock _lock = new();
    private readonly PriorityBacklog _backlog = new();
    private readonly LinkedList<WaitingPoller> _pollers = new();
    private readonly LinkedList<HeldOffer> _offers = new();
    private readonly FairnessKeyLimiter _keyLimiter = new();
    private readonly PollerScaler _scaler = new();

    private readonly Dictionary<string, DateTime> _pollersSeen = new(StringComparer.Ordinal);
    private DispatchPolicy _policy = policy ?? DispatchPolicy.Default;
    private int _forwardedPolls;
    private bool _draining;
    private ITimer? _release;

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
                return _backlog.Count + _offers.Count;
            }
        }
    }

    /// <summary>When the item that goes next arrived (null: none waits), and tasks added and dispatched per second, for DescribeTaskQueue's stats.</summary>
    public (DateTime? Oldest, double AddRate, double DispatchRate) Stats()
    {
        lock (_lock)
        {
            var (added, dispatched) = _scaler.Rates(Now);
            return (_backlog.HeadAdded(), added, dispatched);
        }
    }

    /// <summary>Items waiting per priority level (0: queries), for DescribeTaskQueue's stats.</summary>
    public List<(int Level, int Count)> BacklogByLevel()
    {
        lock (_lock)
        {
            return [.. _backlog.CountsByLevel()];
        }
    }

    public void Add(MatchItem item, bool front = false)
    {
        lock (_lock)
        {
            var now = Now;
            _scaler.Added(now);

            // Straight to a poller only when nothing waits ahead of the item (a backlog held back by a rate limit).
            if (_backlog.Count == 0 && _pollers.First is not null && KeyWait(item) == TimeSpan.Zero && HandToPoller(item))
            {
                TakeKeyToken(item);
                return;
            }

            _backlog.Add(item, front, _policy, now);
            ReleaseWaiting();
        }
    }

    /// <summary>
    /// Puts back at the front an item this partition took to offer to its root and the root did not take (counted as
    /// added once, when it came); a poller waiting here meanwhile gets it.
    /// </summary>
    public void Return(MatchItem item)
    {
        lock (_lock)
        {
            _backlog.Add(item, front: true, _policy, Now);
            ReleaseWaiting();
        }
    }

    /// <summary>
    /// At a queue's root: hands <paramref name="item"/>, which another partition could not match, to a poller waiting
    /// here, or holds it for up to <paramref name="hold"/> for the next poller that comes (after this partition's own
    /// backlog). True when a poller took it; false when the hold ran out or <paramref name="cancellationToken"/> (the
    /// sender left) ended it first — the sender then keeps the item. Its dispatch token was taken where it came from.
    /// </summary>
    public async Task<bool> HoldAsync(MatchItem item, TimeSpan hold, TimeProvider time, CancellationToken cancellationToken)
    {
        LinkedListNode<HeldOffer> node;
        lock (_lock)
        {
            if (HandToPoller(item, limited: false))
            {
                return true;
            }

            node = _offers.AddLast(new HeldOffer(item));
        }

        using var timeout = new CancellationTokenSource(hold, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using (linked.Token.Register(static state =>
        {
            var (partition, held) = ((TaskQueuePartition, LinkedListNode<HeldOffer>))state!;
            partition.Withdraw(held);
        }, (this, node)))
        {
            return await node.Value.Taken.Task.ConfigureAwait(false);
        }
    }

    /// <summary>The queue's ordering or fairness settings changed: new items follow them; waiting pollers get what may go now.</summary>
    public void PolicyChanged(DispatchPolicy changed)
    {
        lock (_lock)
        {
            if (changed.KeyRate != _policy.KeyRate)
            {
                _keyLimiter.Reset();
            }

            _policy = changed;
            _release?.Dispose();
            _release = null;
            ReleaseWaiting();
        }
    }

    /// <summary>
    /// Hands <paramref name="item"/>, which another partition offers, to a poller waiting here, if there is one; never
    /// keeps it. Its dispatch token was taken there, as in Temporal.
    /// </summary>
    public bool TryMatch(MatchItem item)
    {
        lock (_lock)
        {
            return HandToPoller(item, limited: false);
        }
    }

    /// <summary>Gives back a token taken for an item that was not dispatched after all.</summary>
    public void RefundToken() => limiter?.Refund();

    /// <summary>The rate limit changed: hands waiting items to waiting pollers as far as tokens allow now.</summary>
    public void RateChanged()
    {
        lock (_lock)
        {
            _release?.Dispose();
            _release = null;
            ReleaseWaiting();
        }
    }

    /// <summary>Removes and returns every waiting item (a sticky queue whose tasks move to the normal queue).</summary>
    public List<MatchItem> Drain()
    {
        lock (_lock)
        {
            return _backlog.TakeAll();
        }
    }

    /// <summary>The first waiting item, taken for <paramref name="identity"/>'s poll without waiting; null when there is none.</summary>
    public MatchItem? TryTake(string identity, DateTime now)
    {
        lock (_lock)
        {
            LastPollTime = now;
            _pollersSeen[identity] = now;
            return Dispatched(TakeFirst());
        }
    }

    /// <summary>
    /// The suggestion for a poll that began at <paramref name="pollStarted"/> and got a task from this partition just now
    /// (+1, -1, or null for none): <see cref="PollerScaler"/>.
    /// </summary>
    public int? ScalingDecision(PollerScalingOptions options, DateTime pollStarted, bool isRoot)
    {
        lock (_lock)
        {
            var now = Now;
            var since = now - MatchingEngine.PollerWindow;
            var pollers = 0;
            List<string>? stale = null;
            foreach (var (identity, seen) in _pollersSeen)
            {
                if (seen >= since)
                {
                    pollers++;
                }
                else
                {
                    (stale ??= []).Add(identity);
                }
            }

            // Pollers not seen within the window are listed nowhere: forgotten, so workers that come and go (each with
            // its own identity) do not grow the map, nor this count's cost, for as long as the server runs.
            foreach (var identity in stale ?? [])
            {
                _pollersSeen.Remove(identity);
            }

            return _scaler.Decide(options, pollStarted, now, _backlog.HeadAdded(), pollers, isRoot);
        }
    }

    /// <summary>The first waiting item, to offer to the queue's root; null when there is none.</summary>
    public MatchItem? TakeForRoot()
    {
        lock (_lock)
        {
            return TakeFirst(held: false);
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

    /// <summary>
    /// Waits up to <paramref name="maxWait"/> for an item; null when none came. <paramref name="audit"/> is the poll call's
    /// audit record, carried by the commit of a transition that claims this poll (<see cref="TryClaim"/>).
    /// </summary>
    public async Task<MatchItem?> PollAsync(string identity, DateTime now, TimeSpan maxWait, TimeProvider time, CancellationToken cancellationToken, PendingAudit? audit = null)
    {
        WaitingPoller waiter;
        LinkedListNode<WaitingPoller> node;
        lock (_lock)
        {
            LastPollTime = now;
            _pollersSeen[identity] = now;
            if (Dispatched(TakeFirst()) is { } first)
            {
                return first;
            }

            // A backlog held back by a rate limit keeps its place: this poller waits for the release timer.
            waiter = new WaitingPoller(identity, audit);
            node = _pollers.AddLast(waiter);
        }

        using var timeout = new CancellationTokenSource(maxWait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using (linked.Token.Register(static w => ((WaitingPoller)w!).TryGiveUp(), waiter))
        {
            var item = await waiter.Result.Task.ConfigureAwait(false);
            if (item is null)
            {
                lock (_lock)
                {
                    if (node.List != null)
                    {
                        _pollers.Remove(node);
                    }
                }
            }

            return item;
        }
    }

    /// <summary>
    /// Ends every poll waiting here, empty (the queue's partition lives on another node now: its pollers poll again and
    /// reach that node). A poll given an item or claimed meanwhile keeps it. Returns how many ended.
    /// </summary>
    public int ReleasePollers()
    {
        List<WaitingPoller> waiting;
        lock (_lock)
        {
            waiting = [.. _pollers];
        }

        return waiting.Count(poller => poller.TryGiveUp());
    }

    /// <summary>
    /// Takes the first waiting poll for a transition that schedules <paramref name="item"/> and will start it for that
    /// poller in its own commit — only where the item would have gone straight to that poller: nothing waits ahead of it
    /// and no limit holds it. Null when no poll waits.
    /// </summary>
    public PollerClaim? TryClaim(MatchItem item, QueueKey queue)
    {
        lock (_lock)
        {
            if (_backlog.Count > 0 || limiter is not null || KeyWait(item) != TimeSpan.Zero)
            {
                return null;
            }

            while (_pollers.First is { } poller)
            {
                _pollers.RemoveFirst();
                if (poller.Value.TryClaim())
                {
                    var now = Now;
                    _scaler.Added(now);
                    _scaler.Dispatched(now);
                    TakeKeyToken(item);
                    return new PollerClaim(poller.Value, queue);
                }
            }

            return null;
        }
    }

    private bool HandToPoller(MatchItem item, bool limited = true)
    {
        if (_pollers.First is null)
        {
            return false;
        }

        if (limited && limiter is not null && !limiter.TryTake())
        {
            ArmRelease(limiter.UntilNext());
            return false;
        }

        if (GiveToPoller(item))
        {
            return true;
        }

        if (limited)
        {
            limiter?.Refund(); // every poller had gone
        }

        return false;
    }

    /// <summary>Under the lock: the first waiting poller that is still there gets the item; false when none is.</summary>
    private bool GiveToPoller(MatchItem item)
    {
        while (_pollers.First is { } poller)
        {
            _pollers.RemoveFirst();
            if (poller.Value.TryGive(item))
            {
                _scaler.Dispatched(Now);
                return true;
            }
        }

        return false;
    }

    private DateTime Now => (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;

    /// <summary>Under the lock: <paramref name="item"/>, counted as dispatched when there is one.</summary>
    private MatchItem? Dispatched(MatchItem? item)
    {
        if (item is not null)
        {
            _scaler.Dispatched(Now);
        }

        return item;
    }

    /// <summary>
    /// Under the lock: the backlog's next item, when the rate limits let it go now (else the release timer is armed); with
    /// the backlog empty, an item held here for another partition when <paramref name="held"/> (for a poll: a waiting
    /// poller got any such item when it came).
    /// </summary>
    private MatchItem? TakeFirst(bool held = true)
    {
        if (_backlog.Peek() is not { } head)
        {
            return held ? TakeHeld() : null;
        }

        var keyWait = KeyWait(head);
        if (keyWait != TimeSpan.Zero)
        {
            ArmRelease(keyWait);
            return null;
        }

        if (limiter is not null && !limiter.TryTake())
        {
            ArmRelease(limiter.UntilNext());
            return null;
        }

        TakeKeyToken(head);
        return _backlog.Take();
    }

    /// <summary>Under the lock: the first item held here for another partition, taken (its sender is told); null when none is.</summary>
    private MatchItem? TakeHeld()
    {
        if (_offers.First is not { } first)
        {
            return null;
        }

        _offers.RemoveFirst();
        first.Value.Taken.TrySetResult(true);
        return first.Value.Item;
    }

    private void Withdraw(LinkedListNode<HeldOffer> held)
    {
        lock (_lock)
        {
            if (held.List is not null)
            {
                _offers.Remove(held);
                held.Value.Taken.TrySetResult(false);
            }
        }
    }

    /// <summary>Under the lock: how long the item's fairness key must wait (zero: it may go; null: never, a limit of zero).</summary>
    private TimeSpan? KeyWait(MatchItem item) =>
        _policy.KeyRate is { } rate && time is not null
            ? _keyLimiter.Wait(item.Priority.FairnessKey ?? string.Empty, rate * item.Priority.EffectiveWeight(_policy.Overrides), time.GetUtcNow())
            : TimeSpan.Zero;

    private void TakeKeyToken(MatchItem item)
    {
        if (_policy.KeyRate is { } rate && time is not null)
        {
            _keyLimiter.Take(item.Priority.FairnessKey ?? string.Empty, rate * item.Priority.EffectiveWeight(_policy.Overrides), time.GetUtcNow());
        }
    }

    /// <summary>Under the lock: arms the timer that hands out waiting items when the next may go (once; none when none will).</summary>
    private void ArmRelease(TimeSpan? due)
    {
        if (_release is not null || time is null || due is not { } wait)
        {
            return;
        }

        // At least a millisecond: a timer must never fire inside this lock, before it is recorded.
        _release = time.CreateTimer(_ => Release(), null, wait < s_minimumWait ? s_minimumWait : wait, Timeout.InfiniteTimeSpan);
    }

    private void Release()
    {
        lock (_lock)
        {
            _release?.Dispose();
            _release = null;
            ReleaseWaiting();
        }
    }

    /// <summary>Under the lock: waiting items to waiting pollers, in order, while the limits allow; the timer armed when some must wait.</summary>
    private void ReleaseWaiting()
    {
        while (_pollers.First is not null && TakeFirst(held: false) is { } item)
        {
            if (!GiveToPoller(item))
            {
                limiter?.Refund(); // every poller had gone
                _backlog.Add(item, front: true, _policy, Now);
                return;
            }
        }
    }
}
