using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// A shard this process owned was taken by another server on the same database (a commit was fenced off): everything
/// held in memory for it goes — cached runs and current-run ids, timers — and every call and task of it is refused
/// from then on (<see cref="ShardController.EnsureOwned"/>), so nothing is served from state the new owner may change.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Renews every owned shard's lease now (a loop does it every few seconds); a shard found taken is lost.</summary>
    internal Task RenewShardsAsync() => _shards.RenewAsync(CancellationToken.None);

    private void LoseShard(int shard)
    {
        if (!_shards.Lose(shard))
        {
            return;
        }

        LogShardLost(_logger, shard);
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
    }

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Shard {Shard} was taken by another Bastion server on this database; this server stops serving it (one database takes one server until clustering).")]
    private static partial void LogShardLost(ILogger logger, int shard);
}
