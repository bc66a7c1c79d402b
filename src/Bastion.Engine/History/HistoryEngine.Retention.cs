using Bastion.Engine.Tasks;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// Retention (docs/retention.md): a run that closes gets a durable DeleteHistoryEvent timer task at close time +
/// the namespace's retention as it is at that moment (Temporal's rule: a later change of retention does not move
/// it). When it fires, the run goes in one write: history, mutable state, tasks, visibility row, and the workflow
/// id's current-run pointer if it still names this run.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Temporal's fallback when a namespace cannot be found.</summary>
    private static readonly TimeSpan s_defaultRetention = TimeSpan.FromDays(1);

    /// <summary>Adds the retention timer to a transition that closes its run (called just before it is built).</summary>
    private void ScheduleRetention(Mutation m)
    {
        var state = m.State;
        if (state.IsOpen || !m.DeleteAllTasks)
        {
            return; // Only CloseWorkflow sets DeleteAllTasks: this transition is the close.
        }

        m.AddTask(TaskKind.DeleteHistoryEvent, state.CloseEventId, 0, (state.CloseTime ?? m.Now) + RetentionOf(state.NamespaceId));
    }

    private TimeSpan RetentionOf(string namespaceId) => _namespaces.FindById(namespaceId)?.Retention ?? s_defaultRetention;

    /// <summary>A retention timer is due: delete the run if it is (still) closed.</summary>
    private async Task DeleteByRetentionAsync(TaskRecord task)
    {
        var key = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var context = await LockAsync(key).ConfigureAwait(false);
        try
        {
            if (context.State.IsOpen)
            {
                return; // As Temporal: a run that is not closed is never deleted by retention.
            }

            await DeleteLockedRunAsync(key, context).ConfigureAwait(false);
        }
        finally
        {
            context.Lock.Release();
        }
    }

    /// <summary>
    /// Runs closed before retention timers existed have none: give each one, with the namespace's current retention
    /// (its retention at close time is not known). Runs in the background after start, shard by shard and in pages,
    /// through the one transition path; a crash midway is harmless, the next start finds the rest.
    /// </summary>
    public Task<int> ScheduleMissingRetentionTimersAsync() => Task.Run(async () =>
    {
        const int Page = 500;
        var count = 0;
        for (var shard = 0; shard < ShardCount; shard++)
        {
            string? after = null;
            while (_shards.Owns(shard))
            {
                var runs = await _store.Executions.ClosedRunsWithoutTaskAsync(shard, (int)TaskKind.DeleteHistoryEvent, after, Page, CancellationToken.None).ConfigureAwait(false);
                foreach (var run in runs)
                {
                    await ScheduleRetentionOfAsync(run).ConfigureAwait(false);
                }

                count += runs.Count;
                if (runs.Count < Page)
                {
                    break;
                }

                after = runs[^1].RunId;
            }
        }

        return count;
    });

    private async Task ScheduleRetentionOfAsync(ExecutionRecord run)
    {
        try
        {
            var state = WorkflowState.Deserialize(_codec.Decode(RecordIdentities.Execution(run.NamespaceId, run.RunId), run.State));
            await UpdateAsync(new WorkflowKey(run.NamespaceId, state.WorkflowId, run.RunId), m =>
            {
                if (!m.State.IsOpen)
                {
                    m.AddTask(TaskKind.DeleteHistoryEvent, m.State.CloseEventId, 0, (m.State.CloseTime ?? m.Now) + RetentionOf(run.NamespaceId));
                }

                return true;
            }).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // One run that cannot be read must not stop the others; the next start retries it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRetentionCatchUpFailed(_logger, e, run.RunId);
        }
    }

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Could not schedule the retention timer of closed run {RunId}; the next start retries.")]
    private static partial void LogRetentionCatchUpFailed(ILogger logger, Exception e, string runId);
}
