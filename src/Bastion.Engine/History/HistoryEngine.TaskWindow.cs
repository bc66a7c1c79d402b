using Bastion.Engine.Tasks;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.History;

/// <summary>
/// What of a shard's durable tasks is in memory: those due before the shard's window end (now + <see cref="TaskWindow"/>
/// when it last moved). Later ones stay in the store; the window moves every half window and reads the next slice in
/// pages, so memory holds what falls due soon, however many timers are pending, and a start reads only that.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>How far ahead a shard's due tasks are held in memory.</summary>
    internal static readonly TimeSpan TaskWindow = TimeSpan.FromMinutes(10);

    private const int TaskPage = 1000;

    private long[] _windowEnds = []; // per shard, ticks: tasks due before it are in memory (or are being read)
    private readonly SemaphoreSlim _windowMove = new(1, 1);
    private ITimer? _windowTimer;

    /// <summary>
    /// A shard just taken: its tasks due within the window, read in pages. The window's end is set before the read, so a
    /// task committed meanwhile is published to memory itself; one also read is held once (a duplicate dispatch is
    /// dropped when a poller takes it, as every stale item is).
    /// </summary>
    private async Task LoadShardTasksAsync(int shard, CancellationToken cancellationToken)
    {
        var end = Now + TaskWindow;
        Volatile.Write(ref _windowEnds[shard], end.Ticks);
        await ReadTasksAsync(shard, after: null, end, TakeLoaded, cancellationToken).ConfigureAwait(false);
    }

    private void TakeLoaded(TaskRecord task)
    {
        if (((TaskKind)task.Kind).IsDispatch() && task.VisibleTime <= Now)
        {
            Dispatch(task);
        }
        else
        {
            _timers!.AddIfAbsent(task);
        }
    }

    /// <summary>Whether a task of the run is in memory, waiting to come due (tests).</summary>
    internal bool HoldsTask(string runId, TaskKind kind) => _timers?.Holds(runId, kind) == true;

    /// <summary>Whether a task just committed goes to memory now, or waits in the store for the window to reach it.</summary>
    private bool InWindow(TaskRecord task) => task.VisibleTime.Ticks < Volatile.Read(ref _windowEnds[task.ShardId]);

    /// <summary>
    /// Moves every shard's window to now + <see cref="TaskWindow"/>. The end is raised before the slice is read: a task
    /// committed meanwhile is published to memory itself, and the timer queue takes a task it already holds only once.
    /// A slice that cannot be read is read again at the next move.
    /// </summary>
    internal async Task MoveWindowAsync()
    {
        if (!await _windowMove.WaitAsync(0).ConfigureAwait(false))
        {
            return; // a move is under way; it reads up to its own end, the next tick reads on
        }

        try
        {
            var end = Now + TaskWindow;
            for (var shard = 0; shard < ShardCount; shard++)
            {
                var from = new DateTime(Volatile.Read(ref _windowEnds[shard]), DateTimeKind.Utc);
                if (end <= from || !_shards.Owns(shard))
                {
                    continue;
                }

                Volatile.Write(ref _windowEnds[shard], end.Ticks);
                try
                {
                    // The cursor sorts before every task due at `from`: the slice is [from, end).
                    var start = new TaskCursor(from, new TaskKey(string.Empty, int.MinValue, long.MinValue, int.MinValue));
                    await ReadTasksAsync(shard, start, end, task => _timers!.AddIfAbsent(task), CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The slice is read again at the next move; the engine goes on.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Volatile.Write(ref _windowEnds[shard], from.Ticks);
                    LogWindowReadFailed(_logger, e, shard);
                }
            }
        }
        finally
        {
            _windowMove.Release();
        }
    }

    private async Task ReadTasksAsync(int shard, TaskCursor? after, DateTime before, Action<TaskRecord> take, CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await _store.Tasks.ReadTasksAsync(shard, after, before, TaskPage, cancellationToken).ConfigureAwait(false);
            foreach (var stored in page)
            {
                take(stored with
                {
                    WorkflowId = _codec.DecodeText(RecordIdentities.TaskWorkflowId(stored.NamespaceId, stored.Key), stored.WorkflowId),
                    TaskQueue = stored.TaskQueue is { } queue ? _codec.DecodeText(RecordIdentities.TaskQueue(stored.NamespaceId, stored.Key), queue) : null,
                });
            }

            if (page.Count < TaskPage)
            {
                return;
            }

            after = TaskCursor.Of(page[^1]);
        }
    }

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Reading the next due tasks of shard {Shard} failed; they are read again at the next window move.")]
    private static partial void LogWindowReadFailed(ILogger logger, Exception e, int shard);
}
