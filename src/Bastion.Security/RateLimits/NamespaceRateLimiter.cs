using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Pipeline;
using Bastion.Storage.Telemetry;
using Google.Protobuf;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;

namespace Bastion.Security.RateLimits;

/// <summary>
/// The pipeline's rate-limit stage: per namespace a request bucket (requests per second), an action bucket (actions
/// per second, <see cref="ActionCosts"/>) and a count of open task-queue long polls, with the namespace's
/// <see cref="NamespaceLimits"/> shared among the cluster's nodes. A request over a limit is refused with Temporal's
/// RESOURCE_EXHAUSTED and a <c>ResourceExhaustedFailure</c> (cause RPS_LIMIT, APS_LIMIT or CONCURRENT_LIMIT, scope
/// NAMESPACE), which the SDKs retry with their resource-exhausted back-off; a worker's report of done work is charged,
/// never refused (<see cref="ActionCosts.IsWorkerReport"/>).
/// </summary>
public sealed class NamespaceRateLimiter(PipelineOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Buckets> _namespaces = new(StringComparer.Ordinal);

    /// <summary>Admits a call or throws; the returned lease (long polls only) is disposed when the call ends.</summary>
    public IDisposable? Admit(NamespaceEntry ns, string method, IMessage request)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var buckets = BucketsOf(ns);
        var actions = ActionCosts.Before(method, request);
        if (ActionCosts.IsWorkerReport(method))
        {
            buckets.Requests.Charge(1);
            buckets.Actions.Charge(actions);
            buckets.Used.Add(actions);
            return null;
        }

        if (!buckets.Requests.TryTake(1))
        {
            throw Refused(ns, ResourceExhaustedCause.RpsLimit, "rps",
                $"namespace rate limit exceeded: namespace {ns.FullName} is over its limit of {Rate(buckets.Requests)} requests per second.");
        }

        if (actions > 0 && !buckets.Actions.TryTake(actions))
        {
            throw Refused(ns, ResourceExhaustedCause.ApsLimit, "aps",
                $"namespace actions per second limit exceeded: namespace {ns.FullName} is over its limit of {Rate(buckets.Actions)} actions per second.");
        }

        buckets.Used.Add(actions);

        if (!ActionCosts.IsTaskQueuePoll(method))
        {
            return null;
        }

        if (Interlocked.Increment(ref buckets.Polls) > options.NamespaceConcurrentLongPolls)
        {
            Interlocked.Decrement(ref buckets.Polls);
            throw Refused(ns, ResourceExhaustedCause.ConcurrentLimit, "concurrent",
                $"namespace concurrent poller limit exceeded: namespace {ns.FullName} has {options.NamespaceConcurrentLongPolls} polls open.");
        }

        return new PollLease(buckets);
    }

    /// <summary>Charges what a call's response shows it did (an activity task handed out).</summary>
    public void Charge(NamespaceEntry ns, IMessage? response)
    {
        ArgumentNullException.ThrowIfNull(ns);
        if (ActionCosts.After(response) is var actions and > 0)
        {
            var buckets = BucketsOf(ns);
            buckets.Actions.Charge(actions);
            buckets.Used.Add(actions);
        }
    }

    /// <summary>The namespace's admitted actions per second over the last hour, on this node.</summary>
    public (double Mean, double P90, double P99) ActionsPerSecond(NamespaceEntry ns) =>
        _namespaces.TryGetValue(ns.Id, out var buckets) ? buckets.Used.Summary() : (0, 0, 0);

    private Buckets BucketsOf(NamespaceEntry ns)
    {
        var limits = NamespaceLimits.Of(ns, options);
        var nodes = Math.Max(1, options.Nodes());
        var (requests, actions) = (limits.RequestsPerSecond / nodes, limits.ActionsPerSecond / nodes);
        var buckets = _namespaces.GetOrAdd(ns.Id, _ => new Buckets(
            new TokenBucket(requests, BurstOf(requests), time), new TokenBucket(actions, BurstOf(actions), time), new ActionRate(time)));

        // A namespace's capacity, the defaults or the cluster changed: the same buckets, new rates.
        if (buckets.Requests.Rate != requests)
        {
            buckets.Requests.Reconfigure(requests, BurstOf(requests));
        }

        if (buckets.Actions.Rate != actions)
        {
            buckets.Actions.Reconfigure(actions, BurstOf(actions));
        }

        return buckets;
    }

    private double BurstOf(double rate) => Math.Max(1, rate * options.BurstRatio);

    private static string Rate(TokenBucket bucket) => bucket.Rate.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);

    private static ServiceException Refused(NamespaceEntry ns, ResourceExhaustedCause cause, string limit, string message)
    {
        ServerMetrics.RateLimitRejections.Add(
            1, new KeyValuePair<string, object?>("namespace", ns.FullName), new KeyValuePair<string, object?>("limit", limit));
        return new ServiceException(
            ErrorKind.ResourceExhausted, message, new ResourceExhaustedFailure { Cause = cause, Scope = ResourceExhaustedScope.Namespace });
    }

    private sealed class Buckets(TokenBucket requests, TokenBucket actions, ActionRate used)
    {
        public int Polls;

        public TokenBucket Requests { get; } = requests;

        public TokenBucket Actions { get; } = actions;

        public ActionRate Used { get; } = used;
    }

    private sealed class PollLease(Buckets buckets) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref buckets.Polls);
            }
        }
    }
}
