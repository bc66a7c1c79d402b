using System.Data;
using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// The one write: a batch of transitions in one transaction on the writer connection, in two round trips — every
/// statement as one <see cref="PostgresCommitPlan"/> (the fence first), then COMMIT or ROLLBACK decided from the fence's
/// ranges and the affected-row counts. No savepoints: a rejection rolls the whole batch back.
/// </summary>
public sealed partial class PostgresStorageProvider
{
    /// <summary>The audit chains' heads as this provider last committed them (a chain absent: unknown, read it); used under the writer lock.</summary>
    private readonly Dictionary<string, AuditAnchor> _auditHeads = new(StringComparer.Ordinal);

    /// <summary>For tests: runs after a commit's statements, before its COMMIT — a commit held in flight.</summary>
    internal Func<Task>? CommitInFlight { get; set; }

    public async Task<CommitResult> CommitAsync(CommitBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _writerLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureWriterAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var result = await TryCommitAsync(batch, cancellationToken).ConfigureAwait(false);
                if (result is not null)
                {
                    return result;
                }

                _auditHeads.Clear(); // another writer (a CLI, another server) extended a chain: seal after the heads as stored
            }
        }
        finally
        {
            _writerLock.Release();
        }
    }

    /// <summary>One attempt; null when the audit chain's head had moved (nothing was written: seal again and retry).</summary>
    private async Task<CommitResult?> TryCommitAsync(CommitBatch batch, CancellationToken cancellationToken)
    {
        await using var tx = await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var plan = new PostgresCommitPlan(_writer, tx);
        var shards = batch.Transitions.SelectMany(t => t.Fences).Select(f => f.ShardId).Distinct().ToArray();
        if (shards.Length > 0)
        {
            plan.AddFence(shards);
        }

        for (var i = 0; i < batch.Transitions.Count; i++)
        {
            plan.Owner = i;
            Apply(plan, batch.Transitions[i]);
        }

        var heads = new Dictionary<string, AuditAnchor>(StringComparer.Ordinal);
        if (batch.Audit.Count > 0)
        {
            var unknown = batch.Audit.Select(a => a.Chain).Where(c => !_auditHeads.ContainsKey(c)).Distinct().ToArray();
            var stored = unknown.Length == 0 ? null : await ReadAuditHeadsAsync(tx, unknown, cancellationToken).ConfigureAwait(false);
            var commitTime = DateTime.UtcNow.Ticks;
            foreach (var append in batch.Audit)
            {
                var head = heads.GetValueOrDefault(append.Chain) ?? _auditHeads.GetValueOrDefault(append.Chain) ?? stored![append.Chain];
                heads[append.Chain] = AppendAudit(plan, batch, append, head, commitTime);
            }
        }

        var outcome = await plan.ExecuteAsync(batch.Transitions.Count, cancellationToken).ConfigureAwait(false);
        var rejected = StaleFences(batch.Transitions, outcome.Ranges) ?? outcome.Rejected;
        if (rejected is not null || outcome.ChainMoved)
        {
            await tx.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return rejected is null ? null : new CommitResult(rejected);
        }

        if (CommitInFlight is { } inFlight)
        {
            await inFlight().ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (chain, head) in heads)
        {
            _auditHeads[chain] = head;
        }

        return new CommitResult(new Exception?[batch.Transitions.Count]);
    }

    /// <summary>A writer connection the server dropped (restart, failover) is replaced before the next commit.</summary>
    private async Task EnsureWriterAsync(CancellationToken cancellationToken)
    {
        if (_writer.FullState == ConnectionState.Open)
        {
            return;
        }

        _auditHeads.Clear();
        await _writer.DisposeAsync().ConfigureAwait(false);
        _writer = await OpenAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The transitions writing a shard whose stored range is not the writer's (every transition of such a shard), else null.</summary>
    private static Exception?[]? StaleFences(IReadOnlyList<Transition> transitions, IReadOnlyDictionary<int, long> ranges)
    {
        Exception?[]? rejected = null;
        for (var i = 0; i < transitions.Count; i++)
        {
            foreach (var (shardId, rangeId) in transitions[i].Fences)
            {
                if (ranges.GetValueOrDefault(shardId) != rangeId)
                {
                    rejected ??= new Exception?[transitions.Count];
                    rejected[i] = new ShardOwnershipLostException(shardId, rangeId);
                    break;
                }
            }
        }

        return rejected;
    }

    private static void Apply(PostgresCommitPlan plan, Transition transition)
    {
        if (transition.Schedule is { } schedule)
        {
            ApplySchedule(plan, schedule);
        }

        if (transition.Namespace is { } ns)
        {
            ApplyNamespace(plan, ns);
        }

        foreach (var identity in transition.Identities)
        {
            ApplyIdentity(plan, identity);
        }

        if (transition.NexusEndpoint is { } endpoint)
        {
            ApplyNexusEndpoint(plan, endpoint);
        }

        if (transition.WorkerDeployment is { } deployment)
        {
            ApplyWorkerDeployment(plan, deployment);
        }

        if (transition.TaskQueueConfig is { } queueConfig)
        {
            ApplyTaskQueueConfig(plan, queueConfig);
        }

        foreach (var write in transition.Writes)
        {
            Apply(plan, write);
        }
    }

    private static void Apply(PostgresCommitPlan plan, ExecutionWrite write)
    {
        if (write.DeletesRun)
        {
            DeleteRun(plan, write);
            return;
        }

        if (write.CreatesRun)
        {
            CreateRun(plan, write);
        }
        else
        {
            plan.Add("""
                UPDATE executions SET version = @new, status = @status, state = @state
                WHERE namespace_id = @ns AND run_id = @run AND version = @expected;
                """, $"Run {write.RunId} changed since version {write.ExpectedVersion}.")
                .With("new", write.NewVersion).With("status", write.Status).With("state", write.State)
                .With("ns", write.NamespaceId).With("run", write.RunId).With("expected", write.ExpectedVersion);
        }

        if (write.Events is { } events)
        {
            plan.Add("""
                INSERT INTO history (namespace_id, run_id, first_event_id, last_event_id, data)
                VALUES (@ns, @run, @first, @last, @data) ON CONFLICT DO NOTHING;
                """, $"Run {write.RunId} already has event {events.FirstEventId}.")
                .With("ns", write.NamespaceId).With("run", write.RunId).With("first", events.FirstEventId)
                .With("last", events.LastEventId).With("data", events.Data);
        }

        if (write.Visibility is { } visibility)
        {
            UpsertVisibility(plan, write, visibility);
        }

        if (write.DeleteAllTasks)
        {
            plan.Add("DELETE FROM tasks WHERE run_id = @run;").With("run", write.RunId);
        }

        foreach (var key in write.DeletedTasks)
        {
            plan.Add("DELETE FROM tasks WHERE run_id = @run AND kind = @kind AND event_id = @event AND attempt = @attempt;")
                .With("run", key.RunId).With("kind", key.Kind).With("event", key.EventId).With("attempt", key.Attempt);
        }

        foreach (var task in write.NewTasks)
        {
            // As SQLite's INSERT OR REPLACE: a task written again (a retried step) takes the new values.
            plan.Add("""
                INSERT INTO tasks (run_id, kind, event_id, attempt, shard_id, namespace_id, workflow_id, visible_time, task_queue)
                VALUES (@run, @kind, @event, @attempt, @shard, @ns, @wf, @time, @tq)
                ON CONFLICT (run_id, kind, event_id, attempt) DO UPDATE SET shard_id = excluded.shard_id,
                    namespace_id = excluded.namespace_id, workflow_id = excluded.workflow_id,
                    visible_time = excluded.visible_time, task_queue = excluded.task_queue;
                """)
                .With("run", task.RunId).With("kind", task.Kind).With("event", task.EventId).With("attempt", task.Attempt)
                .With("shard", task.ShardId).With("ns", task.NamespaceId).With("wf", task.WorkflowId)
                .With("time", task.VisibleTime.Ticks).With("tq", task.TaskQueue);
        }
    }

    private static void DeleteRun(PostgresCommitPlan plan, ExecutionWrite write)
    {
        plan.Add("DELETE FROM executions WHERE namespace_id = @ns AND run_id = @run AND version = @expected;",
                $"Run {write.RunId} changed since version {write.ExpectedVersion}.")
            .With("ns", write.NamespaceId).With("run", write.RunId).With("expected", write.ExpectedVersion);
        plan.Add("DELETE FROM history WHERE namespace_id = @ns AND run_id = @run;").With("ns", write.NamespaceId).With("run", write.RunId);
        plan.Add("DELETE FROM tasks WHERE run_id = @run AND namespace_id = @ns;").With("ns", write.NamespaceId).With("run", write.RunId);
        plan.Add("DELETE FROM visibility WHERE namespace_id = @ns AND run_id = @run;").With("ns", write.NamespaceId).With("run", write.RunId);
        plan.Add("DELETE FROM current_executions WHERE namespace_id = @ns AND workflow_id = @wf AND run_id = @run;")
            .With("ns", write.NamespaceId).With("wf", write.WorkflowId).With("run", write.RunId);
    }

    /// <summary>
    /// The workflow id's current run must be the one the writer saw (none, or <see cref="ExecutionWrite.ReplacesCurrentRunId"/>):
    /// checked by the statement that moves it, so no read is needed.
    /// </summary>
    private static void CreateRun(PostgresCommitPlan plan, ExecutionWrite write)
    {
        var rejection = $"Workflow {write.WorkflowId} has a current run other than {write.ReplacesCurrentRunId ?? "(none)"}.";
        if (write.ReplacesCurrentRunId is null)
        {
            plan.Add("INSERT INTO current_executions (namespace_id, workflow_id, run_id) VALUES (@ns, @wf, @run) ON CONFLICT DO NOTHING;", rejection)
                .With("ns", write.NamespaceId).With("wf", write.WorkflowId).With("run", write.RunId);
        }
        else
        {
            plan.Add("UPDATE current_executions SET run_id = @run WHERE namespace_id = @ns AND workflow_id = @wf AND run_id = @replaces;", rejection)
                .With("ns", write.NamespaceId).With("wf", write.WorkflowId).With("run", write.RunId).With("replaces", write.ReplacesCurrentRunId);
        }

        plan.Add("""
            INSERT INTO executions (namespace_id, run_id, workflow_id, shard_id, version, status, state)
            VALUES (@ns, @run, @wf, @shard, @new, @status, @state) ON CONFLICT DO NOTHING;
            """, $"Run {write.RunId} already exists.")
            .With("ns", write.NamespaceId).With("run", write.RunId).With("wf", write.WorkflowId).With("shard", write.ShardId)
            .With("new", write.NewVersion).With("status", write.Status).With("state", write.State);
    }
}
