using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.Schedules;

/// <summary>
/// Temporal schedules without a scheduler workflow: a schedule is a record (see <see cref="ScheduleState"/>) changed
/// one call at a time under a per-schedule lock and committed through the group committer; an action's run and
/// the schedule's new state commit in one transaction, so a crash never takes an action twice. A timer from the
/// injected <see cref="TimeProvider"/> wakes each schedule at its next action time; the close of a workflow it
/// started wakes it too (overlap policies, pause on failure). On start every schedule is processed once, which
/// also catches up on what happened while the server was down.
/// </summary>
internal sealed partial class ScheduleEngine : IAsyncDisposable
{
    private readonly IScheduleStore _store;
    private readonly GroupCommitter _committer;
    private readonly IRecordCodec _codec;
    private readonly HistoryEngine _history;
    private readonly NamespaceRegistry _namespaces;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Ns, string Id), SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<(string Ns, string Id), ITimer> _timers = new();
    private volatile bool _stopped;

    public ScheduleEngine(
        IScheduleStore store, GroupCommitter committer, IRecordCodec codec, HistoryEngine history, NamespaceRegistry namespaces, TimeProvider time, ILogger<ScheduleEngine> logger)
    {
        _store = store;
        _committer = committer;
        _codec = codec;
        _history = history;
        _namespaces = namespaces;
        _time = time;
        _logger = logger;
    }

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Watches closing runs and processes once every stored schedule of the shards this process owns (after the history
    /// engine took them). A schedule written before schedules had shards is stored without one: it is run by the owner
    /// of the shard its id falls on (<see cref="Wake"/> skips the others), whose next write of it records that shard.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _history.RunClosed = OnRunClosed;
        _history.WakeSchedule = (ns, id) => Wake(ns, id, TimeSpan.Zero);
        _history.ShardLost += OnShardLost;
        _history.ShardAcquired += OnShardAcquiredAsync;
        _namespaces.Removed += OnNamespaceRemoved;
        var records = new List<ScheduleRecord>(await _store.ListSchedulesOfShardAsync(NoShard, withUnassigned: true, cancellationToken).ConfigureAwait(false));
        foreach (var shard in _history.OwnedShards)
        {
            records.AddRange(await _store.ListSchedulesOfShardAsync(shard, withUnassigned: false, cancellationToken).ConfigureAwait(false));
        }

        foreach (var record in records)
        {
            Wake(record.NamespaceId, Decode(record).ScheduleId, TimeSpan.Zero);
        }
    }

    /// <summary>A shard was taken after start (a node left, or the assignment moved it here): its schedules' alarms are set.</summary>
    private async Task OnShardAcquiredAsync(int shard)
    {
        foreach (var record in await _store.ListSchedulesOfShardAsync(shard, withUnassigned: false, CancellationToken.None).ConfigureAwait(false))
        {
            Wake(record.NamespaceId, Decode(record).ScheduleId, TimeSpan.Zero);
        }
    }

    /// <summary>No shard has this id: listing it with the unassigned rows lists only those.</summary>
    private const int NoShard = -1;

    /// <summary>The shard a schedule belongs to: its owner runs it, and writes it fenced by that shard.</summary>
    private int ShardOf(string namespaceId, string scheduleId) => _history.ShardOf(namespaceId, scheduleId);

    /// <summary>A shard stopped being served here: its schedules' alarms go (the new owner runs them).</summary>
    private void OnShardLost(int shard)
    {
        foreach (var (ns, id) in _timers.Keys)
        {
            if (ShardOf(ns, id) == shard)
            {
                Unwake(ns, id);
            }
        }
    }

    /// <summary>A namespace was deleted: its schedules' alarms go (its schedules are purged with it).</summary>
    private void OnNamespaceRemoved(string namespaceId)
    {
        foreach (var (ns, id) in _timers.Keys)
        {
            if (ns == namespaceId)
            {
                Unwake(ns, id);
            }
        }
    }

    /// <summary>Whether this process has an alarm set for the schedule (diagnostics and tests).</summary>
    internal bool HasAlarm(string namespaceId, string scheduleId) => _timers.ContainsKey((namespaceId, scheduleId));

    private string IdIndex(string namespaceId, string scheduleId) => _codec.Index(namespaceId, RecordIdentities.ScheduleIdIndex, scheduleId);

    private ScheduleState Decode(ScheduleRecord record) =>
        ScheduleState.Deserialize(_codec.Decode(RecordIdentities.Schedule(record.NamespaceId, record.ScheduleId), record.Data));

    private async Task<(ScheduleState State, long Version)?> LoadAsync(string namespaceId, string scheduleId)
    {
        var record = await _store.GetScheduleAsync(namespaceId, IdIndex(namespaceId, scheduleId), CancellationToken.None).ConfigureAwait(false);
        return record is null ? null : (Decode(record), record.Version);
    }

    private async Task<(ScheduleState State, long Version)> RequireAsync(string namespaceId, string scheduleId) =>
        await LoadAsync(namespaceId, scheduleId).ConfigureAwait(false)
        ?? throw ServiceException.NotFound($"Schedule {ServiceException.Quote(scheduleId)} not found.");

    private ScheduleWrite BuildWrite(string namespaceId, ScheduleState state, long version, bool deletes = false)
    {
        var index = IdIndex(namespaceId, state.ScheduleId);
        var shard = ShardOf(namespaceId, state.ScheduleId);
        return new ScheduleWrite
        {
            NamespaceId = namespaceId,
            ShardId = shard,
            RangeId = _history.RangeOf(shard),
            ScheduleId = index,
            ExpectedVersion = version,
            NewVersion = version + 1,
            Data = deletes ? [] : _codec.Encode(RecordIdentities.Schedule(namespaceId, index), state.Serialize()),
            Deletes = deletes,
        };
    }

    /// <summary>Commits the schedule's state alone; returns its new version.</summary>
    private async Task<long> SaveAsync(string namespaceId, ScheduleState state, long version, bool deletes = false)
    {
        try
        {
            await _committer.CommitAsync([], BuildWrite(namespaceId, state, version, deletes)).ConfigureAwait(false);
        }
        catch (ShardOwnershipLostException e)
        {
            throw ShardController.Unavailable(e.ShardId);
        }
        catch (ConditionFailedException)
        {
            throw version == 0
                ? AlreadyExists(state.ScheduleId)
                : new ServiceException(ErrorKind.Unavailable, "The schedule changed concurrently; retry the call.");
        }

        return version + 1;
    }

    private static ServiceException AlreadyExists(string scheduleId) => new(
        ErrorKind.AlreadyExists,
        $"Schedule {ServiceException.Quote(scheduleId)} is already registered.",
        new Temporalio.Api.ErrorDetails.V1.WorkflowExecutionAlreadyStartedFailure());

    /// <summary>Runs <paramref name="action"/> holding the schedule's lock: one change at a time per schedule.</summary>
    private async Task<T> WithLockAsync<T>(string namespaceId, string scheduleId, Func<Task<T>> action)
    {
        var gate = _locks.GetOrAdd((namespaceId, scheduleId), static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Sets the schedule's alarm (replacing the previous one).</summary>
    private void Wake(string namespaceId, string scheduleId, TimeSpan due)
    {
        if (_stopped || _namespaces.IsDeleted(namespaceId) || !_history.OwnsShard(ShardOf(namespaceId, scheduleId)))
        {
            return; // A deleted namespace's schedules are purged with it.
        }

        // Wake-ups are not on the flow of the call that scheduled them (Detached).
        if (due <= TimeSpan.Zero)
        {
            // Due now: run at once rather than on a timer (a clock driven by hand fires timers only when moved).
            _ = Detached.Start(() => Task.Run(() => WakeAsync(namespaceId, scheduleId)));
            return;
        }

        var timer = Detached.Start(() => LongTimer.Create(_time, _ => _ = WakeAsync(namespaceId, scheduleId), null, due, Timeout.InfiniteTimeSpan));
        if (_timers.TryGetValue((namespaceId, scheduleId), out var old))
        {
            old.Dispose();
        }

        _timers[(namespaceId, scheduleId)] = timer;
    }

    private void Unwake(string namespaceId, string scheduleId)
    {
        if (_timers.TryRemove((namespaceId, scheduleId), out var timer))
        {
            timer.Dispose();
        }
    }

    private async Task WakeAsync(string namespaceId, string scheduleId)
    {
        if (_stopped || !_history.OwnsShard(ShardOf(namespaceId, scheduleId)))
        {
            return;
        }

        try
        {
            await WithLockAsync(namespaceId, scheduleId, async () =>
            {
                if (await LoadAsync(namespaceId, scheduleId).ConfigureAwait(false) is { } loaded)
                {
                    await ProcessAsync(namespaceId, loaded.State, loaded.Version).ConfigureAwait(false);
                }

                return true;
            }).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed wake-up is retried later; the timer callback must not throw.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogWakeFailed(_logger, e, scheduleId);
            Wake(namespaceId, scheduleId, TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>A run closed: if a schedule started it, that schedule may now start a buffered action or pause.</summary>
    private void OnRunClosed(WorkflowState run)
    {
        if (ScheduledBy(run.SearchAttributes) is not { } scheduleId)
        {
            return;
        }

        var shard = ShardOf(run.NamespaceId, scheduleId);
        if (_history.OwnsShard(shard))
        {
            Wake(run.NamespaceId, scheduleId, TimeSpan.Zero);
            return;
        }

        // The schedule runs on another node: tell it there (it also looks at its next action if this is lost).
        var ns = run.NamespaceId;
        _ = Tasks.Detached.Start(async () =>
        {
            try
            {
                await _history.RunCrossRunAsync(shard, new Cluster.CrossRunOperation.WakeSchedule(ns, scheduleId)).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // An optimisation: the schedule's own next pass observes the close anyway.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        });
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Schedule {ScheduleId} could not be processed; retrying.")]
    private static partial void LogWakeFailed(ILogger logger, Exception e, string scheduleId);

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        _history.RunClosed = null;
        _history.WakeSchedule = null;
        _history.ShardLost -= OnShardLost;
        _history.ShardAcquired -= OnShardAcquiredAsync;
        _namespaces.Removed -= OnNamespaceRemoved;
        foreach (var timer in _timers.Values)
        {
            timer.Dispose();
        }

        _timers.Clear();
        return ValueTask.CompletedTask;
    }
}
