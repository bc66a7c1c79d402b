using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Bastion.Storage.Telemetry;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// The history role: owns every workflow run of its shards and changes them through one path,
/// <see cref="UpdateAsync{T}(WorkflowKey, Func{Mutation, T})"/>: lock the run, apply, commit events + state + tasks
/// in one write, and only then make anything visible (matching, timers, waiting readers).
/// </summary>
internal sealed partial class HistoryEngine : IAsyncDisposable
{
    private const int MaxCachedRuns = 20_000;

    private readonly IStorageProvider _store;
    private readonly GroupCommitter _committer;
    private readonly IRecordCodec _codec;
    private readonly Namespaces.NamespaceRegistry _namespaces;
    private readonly Rules.WorkflowRuleCache _rules;
    private readonly EngineLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Ns, string RunId), WorkflowContext> _runs = new();
    private readonly Lock _loadsLock = new();
    private Task _loads = Task.CompletedTask;
    private readonly ConcurrentDictionary<(string Ns, string WorkflowId), string> _currentRuns = new();
    private readonly ConcurrentQueue<(string Ns, string RunId)> _closedRuns = new();
    private readonly SemaphoreSlim[] _workflowIdLocks = Enumerable.Range(0, 256).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ConcurrentDictionary<string, PendingQuery> _queries = new();
    private readonly ConcurrentDictionary<(string Ns, string Queue), ConcurrentDictionary<WorkflowKey, byte>> _stickyRuns = new();
    private ShardController _shards = ShardController.None;
    private TimerQueue? _timers;

    public HistoryEngine(
        IStorageProvider store,
        GroupCommitter committer,
        IRecordCodec codec,
        MatchingEngine matching,
        Namespaces.NamespaceRegistry namespaces,
        Deployments.WorkerDeploymentRegistry deployments,
        EngineLimits limits,
        TimeProvider time,
        ILogger<HistoryEngine> logger)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        Deployments = deployments;
        deployments.RoutingChanged += Reroute;
        _limits = limits;
        _namespaces = namespaces;
        namespaces.Removed += ForgetNamespace;
        _rules = new Rules.WorkflowRuleCache(namespaces);
        _store = store;
        _committer = committer;
        _codec = codec;
        Matching = matching;
        _time = time;
        _logger = logger;
    }

    public MatchingEngine Matching { get; }

    /// <summary>Worker deployments: which version's workers a task goes to.</summary>
    public Deployments.WorkerDeploymentRegistry Deployments { get; }

    /// <summary>Which node serves a shard or a task queue (this one, for a standalone server).</summary>
    internal Cluster.ClusterRouting Routing { get; private set; } = null!;

    /// <summary>Told after a transition of a closed run commits (schedules watch the workflows they started).</summary>
    public Action<WorkflowState>? RunClosed { get; set; }

    public int ShardCount => _shards.Count;

    public string ClusterId { get; private set; } = string.Empty;

    public string StoreName => _store.Name;

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Takes the shards assigned to this node among <paramref name="membership"/>'s live nodes (every shard, for a
    /// standalone server) and loads the durable tasks due soon of each into matching and the timer queue.
    /// </summary>
    public async Task StartAsync(int shardCountForNewCluster, Cluster.ClusterMembership membership, Cluster.IClusterTransport? transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(membership);
        Routing = new Cluster.ClusterRouting(membership, shard => _shards.Owns(shard), transport, Matching.Partitions);
        if (transport is not null)
        {
            Matching.OfferToRoot = OfferToRootAsync;
        }

        if (NexusCalls is { } nexus)
        {
            nexus.Dispatcher.Routing = Routing; // a Nexus request goes to its task queue's node
        }

        var cluster = await _store.MigrateAsync(shardCountForNewCluster, cancellationToken).ConfigureAwait(false);
        ClusterId = cluster.ClusterId;
        _shards = ShardController.Create(_store.Shards, cluster.ShardCount, membership.Self.NodeId, _time, _logger);
        _shards.Acquired = OnShardAcquiredAsync;
        if (membership.Clustered)
        {
            _shards.ServingAllowed = membership.SelfLeaseHolds;
        }

        _shards.Dropped = DropShard;
        _timers = new TimerQueue(_time, ProcessTaskAsync, _logger);
        _windowEnds = new long[cluster.ShardCount];
        await _shards.AssignAsync([.. membership.Live.Select(n => n.NodeId)], cancellationToken).ConfigureAwait(false);
        _shards.StartRenewing();
        _windowTimer = LongTimer.Create(_time, _ => _ = MoveWindowAsync(), null, TaskWindow / 2, TaskWindow / 2);
    }

    public int ShardOf(string namespaceId, string workflowId) => ShardOf(namespaceId, workflowId, _shards.Count);

    /// <summary>The shard of a workflow (or schedule) id among <paramref name="shardCount"/>: fixed when the database is created.</summary>
    public static int ShardOf(string namespaceId, string workflowId, int shardCount)
    {
        // FNV-1a: stable across processes and versions, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in namespaceId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        hash = (hash ^ '/') * 16777619u;
        foreach (var c in workflowId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)shardCount);
    }

    /// <summary>The one state-transition path. <paramref name="apply"/> may throw; then nothing is written.</summary>
    public Task<T> UpdateAsync<T>(WorkflowKey key, Func<Mutation, T> apply) => UpdateAsync(key, apply, static (_, r) => r);

    /// <summary>As above; <paramref name="then"/> runs after the commit, still holding the run's lock.</summary>
    public async Task<TOut> UpdateAsync<T, TOut>(WorkflowKey key, Func<Mutation, T> apply, Func<WorkflowContext, T, TOut> then)
    {
        ArgumentNullException.ThrowIfNull(apply);
        ArgumentNullException.ThrowIfNull(then);
        var context = await LockAsync(key).ConfigureAwait(false);
        try
        {
            var mutation = new Mutation(context, Now) { Rules = _rules };
            T result;
            try
            {
                result = apply(mutation);
                if (mutation.Changed)
                {
                    EnforceHistoryLimits(mutation);
                    await CommitAsync(mutation, replacesCurrentRunId: null, creates: false).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (mutation.Changed || e is not ServiceException)
            {
                // The state may be half-changed: forget it, the next caller reloads what is committed, and
                // readers waiting on this copy look again.
                _runs.TryRemove((key.NamespaceId, key.RunId), out _);
                context.NotifyChanged();
                throw;
            }

            return then(context, result);
        }
        finally
        {
            context.Lock.Release();
        }
    }

    /// <summary>
    /// A run whose history grew past the error limits is terminated in the same transition (Temporal's rule);
    /// crossing a warning limit is logged once.
    /// </summary>
    private void EnforceHistoryLimits(Mutation m)
    {
        var s = m.State;
        var count = s.NextEventId - 1;
        if (s.IsOpen && (count >= _limits.HistoryCountError || s.HistorySizeBytes >= _limits.HistorySizeError))
        {
            var reason = count >= _limits.HistoryCountError
                ? $"Workflow history count exceeds limit ({_limits.HistoryCountError} events)."
                : $"Workflow history size exceeds limit ({_limits.HistorySizeError} bytes).";
            m.FlushBufferedEvents();
            CloseWorkflow(m, new HistoryEvent
            {
                EventType = Temporalio.Api.Enums.V1.EventType.WorkflowExecutionTerminated,
                WorkflowExecutionTerminatedEventAttributes = new() { Reason = reason, Identity = "bastion" },
            });
            return;
        }

        var before = count - m.Events.Count;
        if ((before < _limits.HistoryCountWarn && count >= _limits.HistoryCountWarn)
            || (s.HistorySizeBytes >= _limits.HistorySizeWarn && s.HistorySizeBytes - m.Events.Sum(e => e.CalculateSize()) < _limits.HistorySizeWarn))
        {
            LogHistoryLarge(_logger, s.WorkflowId, s.RunId, count, s.HistorySizeBytes);
        }
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} run {RunId} has a large history: {Count} events, {Bytes} bytes.")]
    private static partial void LogHistoryLarge(ILogger logger, string workflowId, string runId, long count, long bytes);

    /// <summary>The run's current cached context, locked. A copy evicted while we waited is never used.</summary>
    private async Task<WorkflowContext> LockAsync(WorkflowKey key)
    {
        while (true)
        {
            var context = await GetContextAsync(key).ConfigureAwait(false);
            await context.Lock.WaitAsync().ConfigureAwait(false);
            if (_runs.TryGetValue((key.NamespaceId, key.RunId), out var current) && current == context)
            {
                return context;
            }

            context.Lock.Release();
        }
    }

    /// <summary>Commits a new run created by <paramref name="mutation"/> and caches it.</summary>
    private Task CreateRunAsync(Mutation mutation, string? replacesCurrentRunId) =>
        CommitAsync(mutation, replacesCurrentRunId, creates: true);

    /// <summary>
    /// Commits a transition: the run's write and, when it continues as new, the next run's creation, together.
    /// Then, and only then, makes it visible.
    /// </summary>
    private async Task CommitAsync(Mutation mutation, string? replacesCurrentRunId, bool creates)
    {
        ScheduleRetention(mutation);

        // A run's new workflow task, or the first task of the run it continues as, may go to a waiting poll.
        List<(Mutation Run, PollerClaim Claim)>? claims = null;
        try
        {
            Claim(mutation);
            if (mutation.NextRun is { } next)
            {
                Claim(next);
            }

            await CommitAsync(mutation, replacesCurrentRunId, creates, claims is null ? [] : [.. claims.Select(c => c.Claim.Audit).OfType<PendingAudit>()]).ConfigureAwait(false);
        }
        catch (Exception)
        {
            claims?.ForEach(c => c.Claim.Release());
            throw;
        }

        if (claims is null)
        {
            return;
        }

        foreach (var (run, claim) in claims)
        {
            try
            {
                claim.Deliver(new StartedWorkflowTaskItem(run.Context.Key, BuildWorkflowTaskResponse(run.Context, claim.Queue)));
            }
#pragma warning disable CA1031 // The transition is committed: its call must not fail for the poll's sake. The task runs out its timeout and is scheduled again.
            catch (Exception e)
#pragma warning restore CA1031
            {
                claim.Release();
                LogSyncStartUndelivered(_logger, e, run.State.WorkflowId, run.State.RunId);
                continue;
            }

            var (ns, taskQueue) = RunTags(run.State);
            ServerMetrics.WorkflowTaskSyncStart.Add(1, ns, taskQueue);
        }

        void Claim(Mutation run)
        {
            if (ClaimPoller(run) is { } claim)
            {
                (claims ??= []).Add((run, claim));
            }
        }
    }

    private async Task CommitAsync(Mutation mutation, string? replacesCurrentRunId, bool creates, IReadOnlyList<PendingAudit> pollRecords)
    {
        var writes = new List<ExecutionWrite>(2) { BuildWrite(mutation, creates, replacesCurrentRunId) };
        if (mutation.NextRun is { } next)
        {
            writes.Add(BuildWrite(next, creates: true, replacesCurrentRunId: mutation.State.RunId));
        }

        foreach (var write in writes)
        {
            _shards.EnsureOwned(write.ShardId);
            EnsureNamespaceNotDeleted(write.NamespaceId);
        }

        try
        {
            var schedule = mutation.Schedule ?? mutation.NextRun?.Schedule;
            var woken = mutation.Events.Count > 0 ? mutation.Context.WaitersWokenBy(closes: !mutation.State.IsOpen) : [];
            if (pollRecords.Count > 0)
            {
                woken = [.. woken, .. pollRecords];
            }

            await (woken.Count > 0 ? _committer.CommitAsync(writes, schedule, woken) : _committer.CommitAsync(writes, schedule)).ConfigureAwait(false);
        }
        catch (ShardOwnershipLostException e)
        {
            LoseShard(e.ShardId);
            throw ShardController.Unavailable(e.ShardId);
        }
        catch (ConditionFailedException e)
        {
            LogWriteRejected(_logger, e, mutation.State.WorkflowId, mutation.State.RunId);
            throw new ServiceException(ErrorKind.Unavailable, "The workflow changed concurrently; retry the call.");
        }

        Publish(mutation, creates);
        if (mutation.NextRun is { } continued)
        {
            Publish(continued, creates: true);
        }
    }

    /// <summary>A run's namespace and task queue as metric tags (Temporal's names).</summary>
    private (KeyValuePair<string, object?> Namespace, KeyValuePair<string, object?> TaskQueue) RunTags(WorkflowState state) =>
        (new("namespace", _namespaces.FindById(state.NamespaceId)?.FullName ?? ServerMetrics.Unknown), new("taskqueue", state.TaskQueue));

    /// <summary>
    /// A workflow task this run's transition schedules (or the first of a run it creates), started in it for a poll
    /// waiting on its queue here, when one waits (<see cref="EngineLimits.WorkflowTaskSyncStart"/>): the start is part
    /// of this commit — no second transition, no transfer task written and deleted — and the poll's audit record rides
    /// it. Only where matching would have handed the task straight to that poll: a first attempt (not a retry's transient
    /// attempt nor an update's speculative task, which go through matching) on an unversioned queue whose partition is
    /// held here, with no backlog ahead of it. Null when nothing was claimed.
    /// </summary>
    private PollerClaim? ClaimPoller(Mutation m)
    {
        var state = m.State;
        if (!_limits.WorkflowTaskSyncStart || state.WorkflowTask is not { IsStarted: false, Transient: false } task || state.Versioning is not null
            || Deployments.HasVersions(state.NamespaceId, state.TaskQueue)
            || !m.Tasks.Any(t => t.Kind == (int)TaskKind.WorkflowTask && t.EventId == task.ScheduledEventId && t.Attempt == task.Attempt))
        {
            return null;
        }

        var queue = new QueueKey(state.NamespaceId, task.TaskQueue, TaskCategory.Workflow);
        if (!task.Sticky)
        {
            queue = Routing.Place(queue);
        }

        if (!Routing.IsSelf(Routing.OwnerOfQueue(queue))
            || Matching.TryClaim(queue, new WorkflowTaskItem(m.Context.Key, task.ScheduledEventId, task.Attempt) { Priority = state.Priority ?? default }) is not { } claim)
        {
            return null;
        }

        StartWorkflowTask(m, task.ScheduledEventId, task.Attempt, claim.Identity, Guid.NewGuid().ToString());
        return claim;
    }

    private ExecutionWrite BuildWrite(Mutation mutation, bool creates, string? replacesCurrentRunId)
    {
        var context = mutation.Context;
        var state = context.State;
        state.StateTransitionCount++;
        HistoryBatch? batch = null;
        if (mutation.Events.Count > 0)
        {
            var history = new Temporalio.Api.History.V1.History();
            history.Events.AddRange(mutation.Events);
            var first = mutation.Events[0].EventId;
            batch = new HistoryBatch(
                first,
                mutation.Events[^1].EventId,
                _codec.Encode(RecordIdentities.History(state.NamespaceId, state.RunId, first), history.ToByteArray()));
        }

        return new ExecutionWrite
        {
            ShardId = context.ShardId,
            RangeId = _shards.RangeOf(context.ShardId),
            NamespaceId = state.NamespaceId,
            WorkflowId = WorkflowIdIndex(state.NamespaceId, state.WorkflowId),
            RunId = state.RunId,
            ExpectedVersion = creates ? 0 : context.Version,
            NewVersion = context.Version + 1,
            Status = state.Status,
            State = _codec.Encode(RecordIdentities.Execution(state.NamespaceId, state.RunId), state.Serialize()),
            ReplacesCurrentRunId = replacesCurrentRunId,
            Events = batch,
            NewTasks = [.. mutation.Tasks.Select(EncodeIdentifiers)],
            DeletedTasks = mutation.DeletedTasks,
            DeleteAllTasks = mutation.DeleteAllTasks,
            Visibility = VisibilityIfChanged(context),
        };
    }

    /// <summary>A task as stored: the workflow id and task queue name encrypted (they are customer data).</summary>
    private TaskRecord EncodeIdentifiers(TaskRecord task) => task with
    {
        WorkflowId = _codec.EncodeText(RecordIdentities.TaskWorkflowId(task.NamespaceId, task.Key), task.WorkflowId),
        TaskQueue = task.TaskQueue is { } queue ? _codec.EncodeText(RecordIdentities.TaskQueue(task.NamespaceId, task.Key), queue) : null,
    };

    /// <summary>What the store keeps in place of a workflow id: a blind index, enough for lookups and nothing more.</summary>
    private string WorkflowIdIndex(string namespaceId, string workflowId) => _codec.Index(namespaceId, RecordIdentities.WorkflowIdIndex, workflowId);

    /// <summary>After the commit: the cached run moves on, its tasks go to matching and timers, readers wake.</summary>
    private void Publish(Mutation mutation, bool creates)
    {
        var context = mutation.Context;
        var state = context.State;
        context.Version++;
        context.Events?.AddRange(mutation.Events);
        if (creates)
        {
            _runs[(context.Key.NamespaceId, context.Key.RunId)] = context;
            _currentRuns[(context.Key.NamespaceId, context.Key.WorkflowId)] = context.Key.RunId;
        }

        foreach (var key in mutation.DeletedTasks)
        {
            _timers!.Cancel(key);
        }

        if (state.StickyQueue != context.IndexedStickyQueue)
        {
            // Keep the sticky-queue index exact, so it holds only runs that are sticky now — before this transition's tasks
            // are dispatched: a sticky queue has one partition, and dispatch asks the index whether a queue is sticky.
            if (context.IndexedStickyQueue is { } old && _stickyRuns.TryGetValue((state.NamespaceId, old), out var oldRuns))
            {
                oldRuns.TryRemove(context.Key, out _);
            }

            if (state.StickyQueue is { } sticky)
            {
                _stickyRuns.GetOrAdd((state.NamespaceId, sticky), static _ => new())[context.Key] = 0;
            }

            context.IndexedStickyQueue = state.StickyQueue;
        }

        foreach (var task in mutation.Tasks.Where(InWindow))
        {
            Schedule(task);
        }

        if (!state.IsOpen)
        {
            _closedRuns.Enqueue((state.NamespaceId, state.RunId));
            TrimCache();
            RunClosed?.Invoke(state);
            WorkflowOutcomeMetrics.RecordIfClosed(mutation, _namespaces);
        }

        foreach (var action in mutation.AfterCommit)
        {
            action();
        }

        DispatchUnblockedQueries(context);
        context.NotifyChanged();
    }

    private void TrimCache()
    {
        while (_runs.Count > MaxCachedRuns && _closedRuns.TryDequeue(out var closed))
        {
            if (_runs.TryGetValue(closed, out var context) && context.Lock.CurrentCount > 0)
            {
                _runs.TryRemove(closed, out _);
                _currentRuns.TryRemove(new KeyValuePair<(string, string), string>((closed.Ns, context.Key.WorkflowId), closed.RunId));
            }
        }
    }

    /// <summary>The cached run, loaded from the store on a miss.</summary>
    public async Task<WorkflowContext> GetContextAsync(WorkflowKey key)
    {
        _shards.EnsureOwned(ShardOf(key.NamespaceId, key.WorkflowId));
        if (_runs.TryGetValue((key.NamespaceId, key.RunId), out var cached))
        {
            return cached;
        }

        var record = await _store.Executions.GetExecutionAsync(key.NamespaceId, key.RunId, CancellationToken.None).ConfigureAwait(false);
        if (record is null || record.WorkflowId != WorkflowIdIndex(key.NamespaceId, key.WorkflowId))
        {
            throw ServiceException.NotFound(
                $"Workflow execution {ServiceException.Quote(key.WorkflowId)} run {ServiceException.Quote(key.RunId)} not found.");
        }

        var state = WorkflowState.Deserialize(_codec.Decode(RecordIdentities.Execution(key.NamespaceId, key.RunId), record.State));
        // The history comes with the run: transitions read it synchronously (EventsOf) while they hold the run.
        var events = await LoadEventsAsync(key).ConfigureAwait(false);
        var context = new WorkflowContext(key, ShardOf(key.NamespaceId, key.WorkflowId), state, record.Version) { Events = events };
        return _runs.GetOrAdd((key.NamespaceId, key.RunId), context);
    }

    /// <summary>The current run of a workflow id, or null when the id has never been used.</summary>
    public async Task<string?> GetCurrentRunIdAsync(string namespaceId, string workflowId)
    {
        if (_currentRuns.TryGetValue((namespaceId, workflowId), out var runId))
        {
            return runId;
        }

        runId = await _store.Executions.GetCurrentRunIdAsync(namespaceId, WorkflowIdIndex(namespaceId, workflowId), CancellationToken.None).ConfigureAwait(false);
        if (runId != null)
        {
            _currentRuns.TryAdd((namespaceId, workflowId), runId);
        }

        return runId;
    }

    /// <summary>Resolves an execution as a client names it: an empty run id means the current run.</summary>
    public Task<WorkflowKey> ResolveAsync(string namespaceId, string workflowId, string? runId)
    {
        if (string.IsNullOrEmpty(workflowId))
        {
            throw ServiceException.InvalidArgument("WorkflowId is not set on request.");
        }

        // A hidden run (a standalone activity or Nexus operation) is not a workflow: its own API names it.
        return HiddenRuns.IsHidden(workflowId)
            ? throw ServiceException.NotFound($"Workflow execution {ServiceException.Quote(workflowId)} not found.")
            : ResolveRunAsync(namespaceId, workflowId, runId);
    }

    /// <summary>Resolves a standalone Nexus operation's run (no run id: the operation id's latest run).</summary>
    public Task<WorkflowKey> ResolveNexusOperationAsync(string namespaceId, string operationId, string? runId) =>
        ResolveRunAsync(namespaceId, Nexus.NexusOperationRuns.WorkflowIdOf(operationId), runId);

    private async Task<WorkflowKey> ResolveRunAsync(string namespaceId, string workflowId, string? runId)
    {
        if (!string.IsNullOrEmpty(runId))
        {
            if (!Guid.TryParse(runId, out _))
            {
                throw ServiceException.InvalidArgument($"Invalid RunId {ServiceException.Quote(runId)}.");
            }

            return new WorkflowKey(namespaceId, workflowId, runId);
        }

        var current = await GetCurrentRunIdAsync(namespaceId, workflowId).ConfigureAwait(false)
            ?? throw ServiceException.NotFound($"Workflow execution {ServiceException.Quote(workflowId)} not found.");
        return new WorkflowKey(namespaceId, workflowId, current);
    }

    /// <summary>The run's full committed history (loaded with the run, then kept with it).</summary>
    public static List<HistoryEvent> EventsOf(WorkflowContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Events ?? throw new InvalidOperationException($"Run {context.Key.RunId} was cached without its history.");
    }

    private async Task<List<HistoryEvent>> LoadEventsAsync(WorkflowKey key)
    {
        var loaded = new List<HistoryEvent>();
        var from = 1L;
        while (true)
        {
            var batches = await _store.Executions.ReadHistoryAsync(key.NamespaceId, key.RunId, from, 256, CancellationToken.None).ConfigureAwait(false);
            foreach (var batch in batches)
            {
                var data = _codec.Decode(RecordIdentities.History(key.NamespaceId, key.RunId, batch.FirstEventId), batch.Data);
                loaded.AddRange(Temporalio.Api.History.V1.History.Parser.ParseFrom(data).Events);
                from = batch.LastEventId + 1;
            }

            if (batches.Count < 256)
            {
                break;
            }
        }

        return loaded;
    }

    private void Schedule(TaskRecord task)
    {
        var kind = (TaskKind)task.Kind;
        if (kind.IsDispatch() && task.VisibleTime <= Now)
        {
            Dispatch(task);
        }
        else
        {
            // Timers, delayed dispatches and the engine's own transfer tasks (due at once; retried on failure).
            _timers!.Add(task);
        }
    }

    private async Task ProcessTaskAsync(TaskRecord task)
    {
        try
        {
            await RunTaskAsync(task).ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            // The run was deleted: its tasks went with it.
        }
        catch (ServiceException) when (!_shards.Owns(task.ShardId))
        {
            // The shard's new owner runs it.
        }
    }

    private Task RunTaskAsync(TaskRecord task)
    {
        var kind = (TaskKind)task.Kind;
        if (_namespaces.IsDeleted(task.NamespaceId))
        {
            return Task.CompletedTask; // Purged with its namespace.
        }

        if (!kind.OutlivesItsRun() && _runs.TryGetValue((task.NamespaceId, task.RunId), out var cached) && !cached.State.IsOpen)
        {
            return Task.CompletedTask; // The run closed and its tasks were deleted with it.
        }

        return kind switch
        {
            TaskKind.WorkflowTask or TaskKind.ActivityTask => DispatchNow(task),
            TaskKind.StartChild => StartChildAsync(task),
            TaskKind.RecordChildClosed => RecordChildClosedAsync(task),
            TaskKind.ApplyParentClosePolicy => ApplyParentClosePolicyAsync(task),
            TaskKind.SignalExternal or TaskKind.CancelExternal => DeliverExternalAsync(task),
            TaskKind.NexusOperationStart => StartNexusOperationAsync(task),
            TaskKind.NexusCallback => DeliverNexusCallbackAsync(task),
            TaskKind.NexusOperationCancel => CancelNexusOperationAsync(task),
            TaskKind.DeleteHistoryEvent => DeleteByRetentionAsync(task),
            _ => FireTimerAsync(task),
        };
    }

    private Task DispatchNow(TaskRecord task)
    {
        Dispatch(task);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Hands a visible transfer task to matching with the priority its run's state gives it. A run not in memory (the
    /// tasks read at start) is read first (<see cref="DispatchWhenLoaded"/>).
    /// </summary>
    private void Dispatch(TaskRecord task)
    {
        if (_runs.TryGetValue((task.NamespaceId, task.RunId), out var context))
        {
            Dispatch(task, DispatchPriority(context.State, task));
        }
        else
        {
            DispatchWhenLoaded(task);
        }
    }

    private void Dispatch(TaskRecord task, TaskPriority priority)
    {
        var key = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        switch ((TaskKind)task.Kind)
        {
            case TaskKind.WorkflowTask:
                Enqueue(new QueueKey(task.NamespaceId, task.TaskQueue!, TaskCategory.Workflow), new WorkflowTaskItem(key, task.EventId, task.Attempt) { Priority = priority }, front: false, task);
                break;
            case TaskKind.ActivityTask:
                Enqueue(new QueueKey(task.NamespaceId, task.TaskQueue!, TaskCategory.Activity), new ActivityTaskItem(key, task.EventId, task.Attempt) { Priority = priority }, front: false, task);
                break;
            default:
                throw new InvalidOperationException($"Task kind {task.Kind} is not a transfer task.");
        }
    }

    /// <summary>
    /// The priority a transfer task is dispatched with: a workflow task its run's; an activity its own (as an
    /// UpdateActivityOptions left it, else as scheduled), each unset field inherited from its run's, as Temporal's.
    /// </summary>
    private static TaskPriority DispatchPriority(WorkflowState state, TaskRecord task)
    {
        var run = state.Priority ?? default;
        if ((TaskKind)task.Kind != TaskKind.ActivityTask || !state.Activities.TryGetValue(task.EventId, out var activity))
        {
            return run;
        }

        var own = activity.Priority is { } updated
            ? TaskPriority.From(Temporalio.Api.Common.V1.Priority.Parser.ParseFrom(updated))
            : activity.ScheduledPriority ?? default;
        return TaskPriority.Merge(run, own);
    }

    /// <summary>
    /// Dispatches a task of a run not in memory once the run is read, one run at a time in the order the tasks came,
    /// so a backlog rebuilt at start keeps its order within each priority. A run that cannot be read (gone, or its
    /// shard moved) leaves the task with no priority: a stale item is dropped when taken.
    /// </summary>
    private void DispatchWhenLoaded(TaskRecord task)
    {
        lock (_loadsLock)
        {
            _loads = DispatchAfterAsync(_loads, task);
        }
    }

    private async Task DispatchAfterAsync(Task previous, TaskRecord task)
    {
        await previous.ConfigureAwait(false);
        var priority = default(TaskPriority);
        try
        {
            var context = await GetContextAsync(new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId)).ConfigureAwait(false);
            priority = DispatchPriority(context.State, task);
        }
#pragma warning disable CA1031 // Any failure to read the run leaves the task to the queue as it came.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        try
        {
            Dispatch(task, priority);
        }
#pragma warning disable CA1031 // The chain goes on whatever one task does; a dispatch that failed is retried from its durable task.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    [LoggerMessage(EventId = 2020, Level = LogLevel.Error, Message = "A workflow task of workflow {WorkflowId} run {RunId} started for a waiting poll could not be handed to it; it runs out its timeout and is scheduled again.")]
    private static partial void LogSyncStartUndelivered(ILogger logger, Exception e, string workflowId, string runId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Write of workflow {WorkflowId} run {RunId} was rejected by the store.")]
    private static partial void LogWriteRejected(ILogger logger, Exception e, string workflowId, string runId);

    public async ValueTask DisposeAsync()
    {
        await _shards.DisposeAsync().ConfigureAwait(false);
        if (_windowTimer != null)
        {
            await _windowTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_timers != null)
        {
            await _timers.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var query in _queries.Values)
        {
            query.Result.TrySetCanceled();
        }
    }
}
