using Bastion.Engine.Matching;

namespace Bastion.Engine.Cluster;

/// <summary>
/// How a node of a cluster reaches the others for matching: hand a task to the node that owns its queue, and have a
/// task taken from a queue started by the node that owns its run; a Nexus request to its task queue's owner. Implemented over the cluster's internal gRPC.
/// </summary>
internal interface IClusterTransport
{
    /// <summary>Adds <paramref name="item"/> to <paramref name="queue"/> on <paramref name="node"/> (its owner).</summary>
    Task AddTaskAsync(string node, QueueKey queue, MatchItem item, bool front, CancellationToken cancellationToken);

    /// <summary>
    /// Offers <paramref name="item"/> to the pollers of <paramref name="root"/> (a queue's root partition) on
    /// <paramref name="node"/>, its owner, held there up to <paramref name="hold"/> for one to come (a node of protocol
    /// before 6 answers at once): true when one took it; it is never kept there.
    /// </summary>
    Task<bool> OfferTaskAsync(string node, QueueKey root, MatchItem item, TimeSpan hold, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a poll another partition sent on at <paramref name="root"/> on <paramref name="node"/> (its owner), within
    /// <paramref name="deadline"/>: the poll response as bytes (a task started there), or null when it ended empty.
    /// </summary>
    Task<byte[]?> PollRootAsync(string node, QueueKey root, byte[] pollRequest, DateTime deadline, CancellationToken cancellationToken);

    /// <summary>Pollers seen within five minutes on the partitions of <paramref name="queue"/> that <paramref name="node"/> holds.</summary>
    Task<List<(string Identity, DateTime LastAccess)>> RecentPollersAsync(string node, QueueKey queue, CancellationToken cancellationToken);

    /// <summary>
    /// Starts <paramref name="item"/>, taken from <paramref name="queue"/> by a poll, on <paramref name="node"/> (the owner
    /// of its run); the poll response as bytes, or null when the item was stale.
    /// </summary>
    Task<byte[]?> StartTaskAsync(string node, QueueKey queue, MatchItem item, byte[] pollRequest, CancellationToken cancellationToken);

    /// <summary>
    /// Runs an encoded <see cref="CrossRunOperation"/> on <paramref name="node"/> (the owner of its target's shard); its
    /// answer. A failure there is a <see cref="Errors.ServiceException"/> of the same kind here.
    /// </summary>
    Task<byte[]> RunOperationAsync(string node, byte[] operation, CancellationToken cancellationToken);

    /// <summary>
    /// Hands a Nexus request to the pollers of a task queue on <paramref name="node"/> (the queue's Nexus owner,
    /// <see cref="ClusterRouting.OwnerOfNexusQueue"/>) and waits there for the worker's answer within
    /// <paramref name="timeout"/>: the answer, or null when no worker took it or answered in time. A node that no longer
    /// owns the queue, or cannot be reached, fails the call (the caller's attempt is then retried).
    /// </summary>
    Task<NexusTaskAnswer?> DispatchNexusTaskAsync(string node, string namespaceId, string taskQueue, Temporalio.Api.Nexus.V1.Request request, TimeSpan timeout, CancellationToken cancellationToken);
}
