using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// A shard stops being served here — released to the node it is now assigned to, or lost (a commit or renewal found its
/// range id moved on): everything held in memory for it goes — cached runs and current-run ids, timers — and every call
/// and task of it is refused from then on (<see cref="ShardController.EnsureOwned"/>), so nothing is served from state
/// the new owner may change. A shard taken is loaded: its due tasks, then (<see cref="ShardAcquired"/>) its schedules and
/// batch jobs.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Renews every owned shard's lease now (a loop does it every few seconds); a shard found taken is lost.</summary>
    internal Task RenewShardsAsync() => _shards.RenewAsync(CancellationToken.None);

    /// <summary>Told when a shard stops being served here, after the engine dropped what it held for it (schedules and batch jobs drop theirs).</summary>
    internal event Action<int>? ShardLost;

    /// <summary>Told after a shard was taken and its due tasks loaded (schedules and batch jobs load theirs).</summary>
    internal event Func<int, Task>? ShardAcquired;

    /// <summary>The shards this node owns now.</summary>
    internal IEnumerable<int> OwnedShards => Enumerable.Range(0, _shards.Count).Where(_shards.Owns);

    internal bool OwnsShard(int shard) => _shards.Owns(shard);

    /// <summary>UNAVAILABLE naming the shard unless this node owns it.</summary>
    internal void EnsureOwnsShard(int shard) => _shards.EnsureOwned(shard);

    /// <summary>This node's range id of <paramref name="shard"/>, to fence a write of it.</summary>
    internal long RangeOf(int shard) => _shards.RangeOf(shard);

    /// <summary>This node's cluster lease ran out: it serves none of its shards from now on (<see cref="ShardController.DropAll"/>).</summary>
    internal void DropAllShards() => _shards.DropAll();

    /// <summary>Takes the shards assigned to this node among <paramref name="live"/> and releases the others (a membership change).</summary>
    internal Task AssignShardsAsync(IReadOnlyCollection<string> live, CancellationToken cancellationToken) => _shards.AssignAsync(live, cancellationToken);

    private readonly Lock _followLock = new();
    private Task _following = Task.CompletedTask;
    private bool _membersChanged;

    /// <summary>
    /// After each membership refresh: take and release shards, and hand due tasks off again when the members changed —
    /// in the background, one pass at a time (a pass that loads many tasks must not hold up the heartbeat, or this
    /// node's lease would run out); a refresh during a pass is folded into the next one.
    /// </summary>
    internal Task FollowMembershipAsync(IReadOnlyList<ClusterNode> live, bool changed)
    {
        lock (_followLock)
        {
            _membersChanged |= changed;
            if (!_following.IsCompleted)
            {
                return Task.CompletedTask;
            }

            var redispatch = _membersChanged;
            _membersChanged = false;
            List<string> ids = [.. live.Select(n => n.NodeId)];
            _following = Task.Run(async () =>
            {
                try
                {
                    await AssignShardsAsync(ids, CancellationToken.None).ConfigureAwait(false);
                    if (redispatch)
                    {
                        await RedispatchAsync().ConfigureAwait(false);
                    }
                }
#pragma warning disable CA1031 // The next refresh tries again.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    lock (_followLock)
                    {
                        _membersChanged |= redispatch;
                    }

                    LogFollowFailed(_logger, e);
                }
            });
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 2018, Level = LogLevel.Error, Message = "Following a change of the cluster's members failed; the next heartbeat tries again.")]
    private static partial void LogFollowFailed(ILogger logger, Exception e);

    private void LoseShard(int shard) => _shards.Lose(shard);

    private async Task OnShardAcquiredAsync(int shard)
    {
        await LoadShardTasksAsync(shard, CancellationToken.None).ConfigureAwait(false);
        if (ShardAcquired is { } acquired)
        {
            foreach (var handler in acquired.GetInvocationList().Cast<Func<int, Task>>())
            {
                await handler(shard).ConfigureAwait(false);
            }
        }
    }

    private void DropShard(int shard)
    {
        foreach (var (key, context) in _runs)
        {
            if (context.ShardId == shard)
            {
                _runs.TryRemove(key, out _);
                context.NotifyChanged();
            }
        }

        foreach (var key in _currentRuns.Keys)
        {
            if (ShardOf(key.Ns, key.WorkflowId) == shard)
            {
                _currentRuns.TryRemove(key, out _);
            }
        }

        _timers?.DropShard(shard);
        ShardLost?.Invoke(shard);
    }
}
