using Bastion.Engine.Matching;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// Work handed to matching goes to the node that owns its task queue partition: this one (a standalone server, or a
/// partition assigned here — preferred when there is one), or another node over the cluster transport. A sticky queue
/// (one worker's) has one partition. A hand-off that fails (the owner just died) is tried again from
/// the durable task a moment later, by then to the queue's new owner; when the cluster's members change, every owned
/// shard's due dispatches are handed off again (a duplicate is dropped when a poller takes it, as any stale item is).
/// </summary>
internal sealed partial class HistoryEngine
{
    private static readonly TimeSpan s_handOffRetry = TimeSpan.FromSeconds(1);

    private void Enqueue(QueueKey queue, MatchItem item, bool front, TaskRecord? task)
    {
        if (queue.Type == TaskCategory.Activity || !_stickyRuns.ContainsKey((queue.NamespaceId, queue.Name)))
        {
            queue = Routing.Place(queue);
        }

        var owner = Routing.OwnerOfQueue(queue);
        if (Routing.IsSelf(owner))
        {
            Matching.Add(queue, item, front);
            return;
        }

        _ = HandOffAsync(owner, queue, item, front, task);
    }

    private async Task HandOffAsync(string owner, QueueKey queue, MatchItem item, bool front, TaskRecord? task)
    {
        try
        {
            await Routing.Transport!.AddTaskAsync(owner, queue, item, front, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any failure of the hand-off is retried from the durable task; a query's caller sees its own timeout.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogHandOffFailed(_logger, e, queue.Name, owner);
            if (task is not null && _shards.Owns(task.ShardId))
            {
                _timers!.Add(task with { VisibleTime = Now + s_handOffRetry });
            }
        }
    }

    /// <summary>Offers an item a partition could not match to its queue's root, here or on its node: true when a poller there took it.</summary>
    private async Task<bool> OfferToRootAsync(QueueKey root, MatchItem item)
    {
        var owner = Routing.OwnerOfQueue(root);
        return Routing.IsSelf(owner)
            ? Matching.TryOffer(root, item)
            : await Routing.Transport!.OfferTaskAsync(owner, root, item, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The cluster's members changed: task queues may have moved, so every owned shard's due tasks are handed off again.</summary>
    internal async Task RedispatchAsync()
    {
        foreach (var shard in OwnedShards)
        {
            await LoadShardTasksAsync(shard, CancellationToken.None).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2017, Level = LogLevel.Warning, Message = "Handing a task of queue {TaskQueue} to node {Node} failed; it is tried again.")]
    private static partial void LogHandOffFailed(ILogger logger, Exception e, string taskQueue, string node);
}
