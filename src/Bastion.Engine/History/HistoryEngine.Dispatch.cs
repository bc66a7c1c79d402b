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
        var sticky = queue.Type == TaskCategory.Workflow && _stickyRuns.ContainsKey((queue.NamespaceId, queue.Name));
        if (sticky || Deployments.HasVersions(queue.NamespaceId, queue.Name))
        {
            // Worker versioning: the run's state decides which version's workers get the task.
            if (!_runs.TryGetValue((item.Key.NamespaceId, item.Key.RunId), out var context))
            {
                if (!sticky)
                {
                    _ = EnqueueWhenLoadedAsync(queue, item, front, task);
                    return;
                }
            }
            else
            {
                (queue, sticky) = VersionedQueue(queue, sticky, context.State);
            }
        }

        if (!sticky)
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

    /// <summary>
    /// The sub-queue of a versioned task queue a task of this run goes to (<see cref="WorkflowVersioning.QueueVersion"/>).
    /// A sticky task stays sticky unless the run is not pinned and its queue now routes it to another version than the
    /// one its sticky worker runs: then it goes to the normal queue, to that version's workers (Temporal's matching
    /// refuses such a sticky dispatch the same way).
    /// </summary>
    private (QueueKey Queue, bool Sticky) VersionedQueue(QueueKey queue, bool sticky, WorkflowState state)
    {
        if (!sticky)
        {
            return (queue with { Version = WorkflowVersioning.QueueVersion(state.Versioning, Deployments, queue.NamespaceId, queue.Name, state.WorkflowId) }, false);
        }

        if (state.Versioning?.PinnedVersion is not null || !Deployments.HasVersions(queue.NamespaceId, state.TaskQueue))
        {
            return (queue, true);
        }

        var target = WorkflowVersioning.QueueVersion(state.Versioning, Deployments, queue.NamespaceId, state.TaskQueue, state.WorkflowId);
        return target == (state.Versioning?.Version?.Canonical ?? string.Empty)
            ? (queue, true)
            : (new QueueKey(queue.NamespaceId, state.TaskQueue, TaskCategory.Workflow, 0, target), false);
    }

    /// <summary>A task of a run not in memory, for a versioned queue: its state is read first, to pick the version.</summary>
    private async Task EnqueueWhenLoadedAsync(QueueKey queue, MatchItem item, bool front, TaskRecord? task)
    {
        try
        {
            var context = await GetContextAsync(item.Key).ConfigureAwait(false);
            queue = VersionedQueue(queue, false, context.State).Queue;
        }
#pragma warning disable CA1031 // A run that cannot be read here (gone, or its shard moved) leaves the task to the queue as it came: a stale item is dropped when taken.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        queue = Routing.Place(queue);
        var owner = Routing.OwnerOfQueue(queue);
        if (Routing.IsSelf(owner))
        {
            Matching.Add(queue, item, front);
        }
        else
        {
            await HandOffAsync(owner, queue, item, front, task).ConfigureAwait(false);
        }
    }

    /// <summary>A deployment's routing changed: the work queued for its task queues here is routed again.</summary>
    private void Reroute(string namespaceId, IReadOnlyCollection<string> taskQueues)
    {
        foreach (var name in taskQueues)
        {
            foreach (var queue in Matching.HeldQueues(namespaceId, name))
            {
                foreach (var item in Matching.Drain(queue))
                {
                    Enqueue(queue with { Version = string.Empty }, item, front: false, task: null);
                }
            }
        }
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

    /// <summary>Offers an item a partition could not match to its queue's root, here or on its node, held there up to <paramref name="hold"/>: true when a poller there took it.</summary>
    private async Task<bool> OfferToRootAsync(QueueKey root, MatchItem item, TimeSpan hold)
    {
        var owner = Routing.OwnerOfQueue(root);
        return Routing.IsSelf(owner)
            ? await Matching.HoldAsync(root, item, hold, CancellationToken.None).ConfigureAwait(false)
            : await Routing.Transport!.OfferTaskAsync(owner, root, item, hold, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// The cluster's members changed: task queues may have moved, so every owned shard's due tasks are handed off again,
    /// and the polls waiting here on queues that moved (Nexus queues' requests too) end, to poll again where they are now.
    /// </summary>
    internal async Task RedispatchAsync()
    {
        NexusCalls?.Dispatcher.ReleaseMoved(); // Nexus queues may have moved too: their waiting polls and requests go on there
        Matching.ReleaseMovedPolls(queue => Routing.IsSelf(Routing.OwnerOfQueue(queue)));
        foreach (var shard in OwnedShards)
        {
            await LoadShardTasksAsync(shard, CancellationToken.None).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2017, Level = LogLevel.Warning, Message = "Handing a task of queue {TaskQueue} to node {Node} failed; it is tried again.")]
    private static partial void LogHandOffFailed(ILogger logger, Exception e, string taskQueue, string node);
}
