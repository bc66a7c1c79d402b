using System.Text;
using Bastion.Engine.Errors;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Worker.V1;

namespace Bastion.Engine.Workers;

/// <summary>
/// The workers of each namespace as their last heartbeat described them (RecordWorkerHeartbeat, and the final one
/// ShutdownWorker carries), in memory as Temporal's matching keeps them (<c>service/matching/workers</c>): a worker is
/// forgotten <see cref="Ttl"/> after its last heartbeat, or at once when it reports <c>Shutdown</c>. Memory is bounded per
/// namespace: past <see cref="MaxPerNamespace"/> the least recently heard-from worker is dropped. In a cluster every
/// call about a namespace's workers runs on one node, the owner of <see cref="RoutingQueue"/> (the frontend routes them
/// there), so that node holds the namespace's whole registry; after that node changes, the registry refills within one
/// heartbeat interval.
/// </summary>
internal sealed class WorkerRegistry(TimeProvider time)
{
    /// <summary>Temporal's <c>matching.workerRegistryEntryTTL</c>.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    /// <summary>Workers kept per namespace (Temporal bounds the whole registry at a million entries).</summary>
    public const int MaxPerNamespace = 10_000;

    /// <summary>Task queues of this prefix are the server's own (Temporal's <c>IsInternalTaskQueue</c>); their workers are system workers.</summary>
    private const string InternalTaskQueuePrefix = "temporal-sys-";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Namespace> _namespaces = new(StringComparer.Ordinal);

    private sealed class Namespace
    {
        public Dictionary<string, LinkedListNode<Entry>> Workers { get; } = new(StringComparer.Ordinal);

        /// <summary>Least recently heard-from first.</summary>
        public LinkedList<Entry> Order { get; } = new();
    }

    private sealed record Entry(WorkerHeartbeat Heartbeat, DateTime LastSeen);

    /// <summary>The task queue whose root's owner serves a namespace's worker calls in a cluster (a name no worker polls).</summary>
    public static string RoutingQueue => "temporal-sys/worker-registry";

    public void Record(string namespaceId, IEnumerable<WorkerHeartbeat> heartbeats)
    {
        ArgumentNullException.ThrowIfNull(heartbeats);
        var now = time.GetUtcNow().UtcDateTime;
        lock (_lock)
        {
            if (!_namespaces.TryGetValue(namespaceId, out var ns))
            {
                _namespaces[namespaceId] = ns = new Namespace();
            }

            foreach (var heartbeat in heartbeats)
            {
                if (ns.Workers.Remove(heartbeat.WorkerInstanceKey, out var old))
                {
                    ns.Order.Remove(old);
                }

                if (heartbeat.Status == WorkerStatus.Shutdown)
                {
                    continue;
                }

                ns.Workers[heartbeat.WorkerInstanceKey] = ns.Order.AddLast(new Entry(heartbeat.Clone(), now));
                while (ns.Workers.Count > MaxPerNamespace && ns.Order.First is { } oldest)
                {
                    ns.Order.RemoveFirst();
                    ns.Workers.Remove(oldest.Value.Heartbeat.WorkerInstanceKey);
                }
            }

            Expire(namespaceId, ns, now);
        }
    }

    /// <summary>The workers matching <paramref name="query"/>, ordered by instance key.</summary>
    public List<WorkerHeartbeat> Find(string namespaceId, WorkerQuery query, bool includeSystemWorkers)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_lock)
        {
            if (!_namespaces.TryGetValue(namespaceId, out var ns))
            {
                return [];
            }

            Expire(namespaceId, ns, time.GetUtcNow().UtcDateTime);
            return [.. ns.Order.Select(e => e.Heartbeat)
                .Where(h => (includeSystemWorkers || !h.TaskQueue.StartsWith(InternalTaskQueuePrefix, StringComparison.Ordinal)) && query.Matches(h))
                .OrderBy(h => h.WorkerInstanceKey, StringComparer.Ordinal)
                .Select(h => h.Clone())];
        }
    }

    /// <summary>One worker's last heartbeat; NOT_FOUND (Temporal's text) when it is not known.</summary>
    public WorkerHeartbeat Describe(string namespaceId, string workerInstanceKey)
    {
        lock (_lock)
        {
            if (_namespaces.TryGetValue(namespaceId, out var ns))
            {
                Expire(namespaceId, ns, time.GetUtcNow().UtcDateTime);
                if (ns.Workers.TryGetValue(workerInstanceKey, out var node))
                {
                    return node.Value.Heartbeat.Clone();
                }
            }
        }

        throw ServiceException.NotFound($"Worker {workerInstanceKey} not found");
    }

    /// <summary>
    /// A page of <paramref name="workers"/> (ordered by instance key) after the key <paramref name="token"/> names; the
    /// next page's token, empty after the last. Page size 0 without a token: all of them, as Temporal's.
    /// </summary>
    public static (List<WorkerHeartbeat> Page, byte[] Next) Page(List<WorkerHeartbeat> workers, int pageSize, byte[] token)
    {
        ArgumentNullException.ThrowIfNull(workers);
        ArgumentNullException.ThrowIfNull(token);
        if (pageSize < 0)
        {
            throw ServiceException.InvalidArgument($"page_size must not be negative, got {pageSize}");
        }

        var start = 0;
        if (token.Length > 0)
        {
            var after = DecodeToken(token);
            start = workers.FindIndex(w => string.CompareOrdinal(w.WorkerInstanceKey, after) > 0);
            if (start < 0)
            {
                return ([], []);
            }
        }

        var end = pageSize == 0 ? workers.Count : Math.Min(workers.Count, start + pageSize);
        var page = workers.GetRange(start, end - start);
        return (page, end < workers.Count ? Encoding.UTF8.GetBytes("worker:" + page[^1].WorkerInstanceKey) : []);
    }

    private static string DecodeToken(byte[] token)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(token);
        }
        catch (DecoderFallbackException)
        {
            throw ServiceException.InvalidArgument("invalid next_page_token");
        }

        return text.StartsWith("worker:", StringComparison.Ordinal) ? text["worker:".Length..] : throw ServiceException.InvalidArgument("invalid next_page_token");
    }

    /// <summary>Under the lock: drops the namespace's workers not heard from within <see cref="Ttl"/>.</summary>
    private void Expire(string namespaceId, Namespace ns, DateTime now)
    {
        while (ns.Order.First is { } oldest && now - oldest.Value.LastSeen > Ttl)
        {
            ns.Order.RemoveFirst();
            ns.Workers.Remove(oldest.Value.Heartbeat.WorkerInstanceKey);
        }

        if (ns.Workers.Count == 0)
        {
            _namespaces.Remove(namespaceId);
        }
    }
}
