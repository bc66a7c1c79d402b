using System.Collections.Concurrent;
using Bastion.Engine.Cluster;
using Temporalio.Api.Nexus.V1;

namespace Bastion.Engine.Matching;

/// <summary>
/// Nexus tasks, matched synchronously and never stored (as Temporal's matching does): a caller's request waits for a
/// poller of the target namespace's task queue, then for that worker's answer, within the request timeout. A request
/// no worker took in time is withdrawn, so a late poller never sees it. Task tokens are opaque and remembered only
/// while the caller waits; an answer is accepted only from the namespace the task was given to.
/// In a cluster a queue's Nexus tasks are matched on one node, its owner (<see cref="ClusterRouting.OwnerOfNexusQueue"/>):
/// a request made elsewhere is sent there and waited for; a token names the node that holds its task (<see cref="NodeOfToken"/>),
/// so the worker's answer, through whichever node, reaches it.
/// </summary>
public sealed class NexusTaskDispatcher
{
    /// <summary>Between a token's own part and the node that holds its task.</summary>
    private const char NodeSeparator = '@';

    private readonly ConcurrentDictionary<(string NamespaceId, string TaskQueue), Queue> _queues = new();
    private readonly ConcurrentDictionary<string, Pending> _inFlight = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public NexusTaskDispatcher()
        : this(TimeProvider.System)
    {
    }

    /// <param name="time">The server's clock: request timeouts, poll waits and the scaling decisions' windows.</param>
    public NexusTaskDispatcher(TimeProvider time) => _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>Which node serves which queue: set when the engine starts (unset, every queue is served here).</summary>
    internal ClusterRouting? Routing { get; set; }

    /// <summary>The node whose dispatcher holds the task of <paramref name="token"/>; null for a token this server did not make.</summary>
    public static string? NodeOfToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var at = token.IndexOf(NodeSeparator, StringComparison.Ordinal);
        return at < 0 || at == token.Length - 1 ? null : token[(at + 1)..];
    }

    /// <summary>
    /// Hands <paramref name="request"/> to a poller of the queue — on this node, or on the node that serves the queue —
    /// and waits for its answer; null when no worker took it or none answered within <paramref name="timeout"/> (the
    /// caller treats that as an upstream timeout). When the queue's node cannot be reached or no longer serves it (its
    /// ownership moved during the call) the answer is a retryable handler failure.
    /// </summary>
    public async Task<NexusTaskAnswer?> DispatchAsync(string namespaceId, string taskQueue, Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Routing is not { } routing || routing.OwnerOfNexusQueue(namespaceId, taskQueue) is var owner && routing.IsSelf(owner))
        {
            return await DispatchHereAsync(namespaceId, taskQueue, request, timeout, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await routing.Transport!.DispatchNexusTaskAsync(owner, namespaceId, taskQueue, request, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Errors.ServiceException e) when (!cancellationToken.IsCancellationRequested)
        {
            return NexusTaskAnswer.Unreachable(owner, e.Message);
        }
    }

    /// <summary>
    /// <see cref="DispatchAsync"/> on this node, for a request another node sent here: refused as UNAVAILABLE when this
    /// node does not serve the queue (any more), so the sender's attempt fails and is retried where the queue now lives.
    /// </summary>
    public Task<NexusTaskAnswer?> DispatchForAsync(string namespaceId, string taskQueue, Request request, TimeSpan timeout, CancellationToken cancellationToken) =>
        Routing is { } routing && !routing.IsSelf(routing.OwnerOfNexusQueue(namespaceId, taskQueue))
            ? throw new Errors.ServiceException(Errors.ErrorKind.Unavailable, $"This node no longer serves the Nexus tasks of task queue {taskQueue}; retry.")
            : DispatchHereAsync(namespaceId, taskQueue, request, timeout, cancellationToken);

    private async Task<NexusTaskAnswer?> DispatchHereAsync(string namespaceId, string taskQueue, Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = new Pending(namespaceId, request, Routing?.Self);
        var queue = _queues.GetOrAdd((namespaceId, taskQueue), _ => new Queue(_time));
        queue.Offer(pending);
        try
        {
            return await pending.Answer.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _ = pending.Withdraw();
            _inFlight.TryRemove(pending.Token, out _);
        }
    }

    /// <summary>The next request for this queue, with its task token; null when none came within <paramref name="wait"/>.</summary>
    public async Task<(string Token, Request Request)?> PollAsync(string namespaceId, string taskQueue, TimeSpan wait, CancellationToken cancellationToken)
    {
        var queue = _queues.GetOrAdd((namespaceId, taskQueue), _ => new Queue(_time));
        var pending = await queue.TakeAsync(wait, cancellationToken).ConfigureAwait(false);
        if (pending is null)
        {
            return null;
        }

        _inFlight[pending.Token] = pending;
        return (pending.Token, pending.Request);
    }

    /// <summary>Delivers a worker's answer; false when the token is unknown, expired, or another namespace's.</summary>
    public bool Answer(string namespaceId, string token, NexusTaskAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (!_inFlight.TryGetValue(token, out var pending) || pending.NamespaceId != namespaceId || !pending.Answer.TrySetResult(answer))
        {
            return false;
        }

        // Delivered. The waiting dispatch, woken by the answer, may have removed the entry already: that is no failure.
        _inFlight.TryRemove(token, out _);
        return true;
    }

    /// <summary>
    /// The cluster's members changed: on each queue this node no longer serves, the polls waiting here end empty (their
    /// workers poll again and reach the queue's new node) and the requests no poller took yet fail retryably (their
    /// callers try again there), rather than both waiting out their time.
    /// </summary>
    internal void ReleaseMoved()
    {
        if (Routing is not { } routing)
        {
            return;
        }

        foreach (var ((namespaceId, taskQueue), queue) in _queues)
        {
            var owner = routing.OwnerOfNexusQueue(namespaceId, taskQueue);
            if (!routing.IsSelf(owner))
            {
                queue.Release(NexusTaskAnswer.Unreachable(routing.Self, $"the task queue's Nexus tasks moved to node {owner}"));
            }
        }
    }

    /// <summary>
    /// The poller scaling decision for a poll of the queue that waited <paramref name="waited"/> and took a request just
    /// now (+1, -1, or null for none: <see cref="PollerScaler"/>); Nexus requests are never stored, so their age here is
    /// how long the oldest one not yet taken has waited for a poller.
    /// </summary>
    public int? ScalingDecision(string namespaceId, string taskQueue, TimeSpan waited, PollerScalingOptions options) =>
        _queues.TryGetValue((namespaceId, taskQueue), out var queue) ? queue.ScalingDecision(waited, options) : null;

    /// <summary>How many pollers wait on the queue now (for tests and describe).</summary>
    public int PollersOf(string namespaceId, string taskQueue) => _queues.TryGetValue((namespaceId, taskQueue), out var queue) ? queue.Pollers : 0;

    private sealed class Pending(string namespaceId, Request request, string? node)
    {
        private int _state; // 0 offered, 1 taken by a poller, 2 withdrawn by its caller

        public string Token { get; } = Guid.NewGuid().ToString("N") + (node is null ? string.Empty : NodeSeparator + node);

        public string NamespaceId => namespaceId;

        public Request Request => request;

        public TaskCompletionSource<NexusTaskAnswer> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When it was left for a poller to come (none waited).</summary>
        public DateTime Offered { get; set; }

        public bool TryTake() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        /// <summary>Its caller stopped waiting before a poller took it.</summary>
        public bool Withdrawn => Volatile.Read(ref _state) == 2;

        /// <summary>Withdraws the request if no poller took it; true when this call withdrew it.</summary>
        public bool Withdraw() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;
    }

    /// <summary>One queue's offered requests and waiting pollers; a request goes to a waiting poller at once.</summary>
    private sealed class Queue(TimeProvider time)
    {
        private readonly Lock _lock = new();
        private readonly LinkedList<Pending> _offered = new();
        private readonly LinkedList<TaskCompletionSource<Pending?>> _pollers = new();
        private readonly PollerScaler _scaler = new();

        private DateTime Now => time.GetUtcNow().UtcDateTime;

        public int Pollers
        {
            get
            {
                lock (_lock)
                {
                    return _pollers.Count;
                }
            }
        }

        public void Offer(Pending pending)
        {
            lock (_lock)
            {
                var now = Now;
                _scaler.Added(now);
                while (_pollers.First is { } poller)
                {
                    _pollers.RemoveFirst();
                    if (pending.TryTake() && poller.Value.TrySetResult(pending))
                    {
                        _scaler.Dispatched(now);
                        return;
                    }
                }

                pending.Offered = now;
                _offered.AddLast(pending);
            }
        }

        public int? ScalingDecision(TimeSpan waited, PollerScalingOptions options)
        {
            lock (_lock)
            {
                var now = Now;
                var oldest = _offered.FirstOrDefault(p => !p.Withdrawn)?.Offered;
                return _scaler.Decide(options, now - waited, now, oldest, _pollers.Count + 1, isRoot: true);
            }
        }

        /// <summary>Ends every waiting poll empty and fails every request no poller took with <paramref name="answer"/>.</summary>
        public void Release(NexusTaskAnswer answer)
        {
            lock (_lock)
            {
                foreach (var poller in _pollers)
                {
                    poller.TrySetResult(null);
                }

                _pollers.Clear();
                foreach (var offered in _offered)
                {
                    if (offered.Withdraw())
                    {
                        offered.Answer.TrySetResult(answer);
                    }
                }

                _offered.Clear();
            }
        }

        public async Task<Pending?> TakeAsync(TimeSpan wait, CancellationToken cancellationToken)
        {
            var waiter = new TaskCompletionSource<Pending?>(TaskCreationOptions.RunContinuationsAsynchronously);
            LinkedListNode<TaskCompletionSource<Pending?>> node;
            lock (_lock)
            {
                while (_offered.First is { } offered)
                {
                    _offered.RemoveFirst();
                    if (offered.Value.TryTake())
                    {
                        _scaler.Dispatched(Now);
                        return offered.Value;
                    }
                }

                node = _pollers.AddLast(waiter);
            }

            try
            {
                return await waiter.Task.WaitAsync(wait, time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                lock (_lock)
                {
                    if (node.List is not null)
                    {
                        _pollers.Remove(node);
                    }
                }

                // An offer may have raced the timeout: a task given to this poller is its to return.
                if (waiter.Task.IsCompletedSuccessfully && waiter.Task.Result is { } raced)
                {
                    if (e is OperationCanceledException)
                    {
                        raced.Answer.TrySetResult(NexusTaskAnswer.PollerGone);
                    }
                    else
                    {
                        return raced;
                    }
                }

                if (e is OperationCanceledException)
                {
                    throw;
                }

                return null;
            }
        }
    }
}

/// <summary>A worker's answer to a Nexus task: its response, or the handler error it reported.</summary>
public sealed record NexusTaskAnswer(Response? Response, Temporalio.Api.Failure.V1.Failure? HandlerFailure)
{
    /// <summary>The poller went away with the task in hand: a retryable upstream failure.</summary>
    public static NexusTaskAnswer PollerGone { get; } = new(null, new Temporalio.Api.Failure.V1.Failure
    {
        Message = "the worker's poll ended before it took the task",
        NexusHandlerFailureInfo = new Temporalio.Api.Failure.V1.NexusHandlerFailureInfo { Type = "UPSTREAM_TIMEOUT" },
    });

    /// <summary>The node serving the task queue could not be reached or no longer serves it: a retryable handler failure.</summary>
    public static NexusTaskAnswer Unreachable(string node, string reason) => new(null, new Temporalio.Api.Failure.V1.Failure
    {
        Message = $"the node serving the Nexus task queue ({node}) could not take the request: {reason}",
        NexusHandlerFailureInfo = new Temporalio.Api.Failure.V1.NexusHandlerFailureInfo
        {
            Type = "UNAVAILABLE",
            RetryBehavior = Temporalio.Api.Enums.V1.NexusHandlerErrorRetryBehavior.Retryable,
        },
    });
}
