using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

public sealed partial class SqliteStorageProvider
{
    public Task<CommitResult> CommitAsync(CommitBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_writerLock)
        {
            // BEGIN IMMEDIATE: this transaction is the database's only writer until it ends, so the fences read
            // inside it hold until commit.
            using var tx = _writer.BeginTransaction(deferred: false);
            var rejected = Fence(tx, batch.Transitions);
            if (rejected is null)
            {
                for (var i = 0; i < batch.Transitions.Count && rejected is null; i++)
                {
                    try
                    {
                        Apply(tx, batch.Transitions[i]);
                    }
                    catch (ConditionFailedException e)
                    {
                        // No savepoints: the batch is rolled back and committed again without this transition.
                        rejected = new Exception?[batch.Transitions.Count];
                        rejected[i] = e;
                    }
                }
            }

            if (rejected is not null)
            {
                tx.Rollback();
                return Task.FromResult(new CommitResult(rejected));
            }

            InsertAudit(tx, batch);
            tx.Commit();
            return Task.FromResult(new CommitResult(new Exception?[batch.Transitions.Count]));
        }
    }

    /// <summary>Checks every shard the batch writes against its stored range id; null when all are owned, else every transition of a moved shard.</summary>
    private Exception?[]? Fence(SqliteTransaction tx, IReadOnlyList<Transition> transitions)
    {
        Dictionary<(int, long), bool>? owned = null;
        Exception?[]? rejected = null;
        for (var i = 0; i < transitions.Count; i++)
        {
            foreach (var fence in transitions[i].Fences)
            {
                owned ??= [];
                if (!owned.TryGetValue(fence, out var ok))
                {
                    ok = OwnsShard(tx, fence.ShardId, fence.RangeId);
                    owned[fence] = ok;
                }

                if (!ok)
                {
                    rejected ??= new Exception?[transitions.Count];
                    rejected[i] = new ShardOwnershipLostException(fence.ShardId, fence.RangeId);
                    break;
                }
            }
        }

        return rejected;
    }

    private bool OwnsShard(SqliteTransaction tx, int shardId, long rangeId)
    {
        var cmd = Command(tx, "SELECT range_id FROM shards WHERE shard_id = $id;");
        cmd.Parameters.AddWithValue("$id", shardId);
        return cmd.ExecuteScalar() is long stored && stored == rangeId;
    }

    private void Apply(SqliteTransaction tx, Transition transition)
    {
        if (transition.Schedule is { } schedule)
        {
            ApplySchedule(tx, schedule);
        }

        if (transition.Namespace is { } ns)
        {
            ApplyNamespace(tx, ns);
        }

        foreach (var identity in transition.Identities)
        {
            ApplyIdentity(tx, identity);
        }

        if (transition.NexusEndpoint is { } endpoint)
        {
            ApplyNexusEndpoint(tx, endpoint);
        }

        if (transition.WorkerDeployment is { } deployment)
        {
            ApplyWorkerDeployment(tx, deployment);
        }

        if (transition.TaskQueueConfig is { } queueConfig)
        {
            ApplyTaskQueueConfig(tx, queueConfig);
        }

        foreach (var write in transition.Writes)
        {
            Apply(tx, write);
        }
    }

    private void Apply(SqliteTransaction tx, ExecutionWrite write)
    {
        if (write.DeletesRun)
        {
            DeleteRun(tx, write);
            return;
        }

        if (write.CreatesRun)
        {
            CreateRun(tx, write);
        }
        else
        {
            var cmd = Command(tx, """
                UPDATE executions SET version = $new, status = $status, state = $state
                WHERE namespace_id = $ns AND run_id = $run AND version = $expected;
                """);
            cmd.Parameters.AddWithValue("$new", write.NewVersion);
            cmd.Parameters.AddWithValue("$status", write.Status);
            cmd.Parameters.AddWithValue("$state", write.State);
            cmd.Parameters.AddWithValue("$ns", write.NamespaceId);
            cmd.Parameters.AddWithValue("$run", write.RunId);
            cmd.Parameters.AddWithValue("$expected", write.ExpectedVersion);
            if (cmd.ExecuteNonQuery() != 1)
            {
                throw new ConditionFailedException($"Run {write.RunId} changed since version {write.ExpectedVersion}.");
            }
        }

        if (write.Events is { } events)
        {
            var cmd = Command(tx, """
                INSERT INTO history (namespace_id, run_id, first_event_id, last_event_id, data)
                VALUES ($ns, $run, $first, $last, $data);
                """);
            cmd.Parameters.AddWithValue("$ns", write.NamespaceId);
            cmd.Parameters.AddWithValue("$run", write.RunId);
            cmd.Parameters.AddWithValue("$first", events.FirstEventId);
            cmd.Parameters.AddWithValue("$last", events.LastEventId);
            cmd.Parameters.AddWithValue("$data", events.Data);
            try
            {
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw new ConditionFailedException($"Run {write.RunId} already has event {events.FirstEventId}.");
            }
        }

        if (write.Visibility is { } visibility)
        {
            UpsertVisibility(tx, write, visibility);
        }

        if (write.DeleteAllTasks)
        {
            var cmd = Command(tx, "DELETE FROM tasks WHERE run_id = $run;");
            cmd.Parameters.AddWithValue("$run", write.RunId);
            cmd.ExecuteNonQuery();
        }

        foreach (var key in write.DeletedTasks)
        {
            var cmd = Command(tx, "DELETE FROM tasks WHERE run_id = $run AND kind = $kind AND event_id = $event AND attempt = $attempt;");
            cmd.Parameters.AddWithValue("$run", key.RunId);
            cmd.Parameters.AddWithValue("$kind", key.Kind);
            cmd.Parameters.AddWithValue("$event", key.EventId);
            cmd.Parameters.AddWithValue("$attempt", key.Attempt);
            cmd.ExecuteNonQuery();
        }

        foreach (var task in write.NewTasks)
        {
            var cmd = Command(tx, """
                INSERT OR REPLACE INTO tasks (run_id, kind, event_id, attempt, shard_id, namespace_id, workflow_id, visible_time, task_queue)
                VALUES ($run, $kind, $event, $attempt, $shard, $ns, $wf, $time, $tq);
                """);
            cmd.Parameters.AddWithValue("$run", task.RunId);
            cmd.Parameters.AddWithValue("$kind", task.Kind);
            cmd.Parameters.AddWithValue("$event", task.EventId);
            cmd.Parameters.AddWithValue("$attempt", task.Attempt);
            cmd.Parameters.AddWithValue("$shard", task.ShardId);
            cmd.Parameters.AddWithValue("$ns", task.NamespaceId);
            cmd.Parameters.AddWithValue("$wf", task.WorkflowId);
            cmd.Parameters.AddWithValue("$time", task.VisibleTime.Ticks);
            cmd.Parameters.AddWithValue("$tq", (object?)task.TaskQueue ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    private void DeleteRun(SqliteTransaction tx, ExecutionWrite write)
    {
        var check = Command(tx, "DELETE FROM executions WHERE namespace_id = $ns AND run_id = $run AND version = $expected;");
        check.Parameters.AddWithValue("$ns", write.NamespaceId);
        check.Parameters.AddWithValue("$run", write.RunId);
        check.Parameters.AddWithValue("$expected", write.ExpectedVersion);
        if (check.ExecuteNonQuery() != 1)
        {
            throw new ConditionFailedException($"Run {write.RunId} changed since version {write.ExpectedVersion}.");
        }

        foreach (var sql in new[]
        {
            "DELETE FROM history WHERE namespace_id = $ns AND run_id = $run;",
            "DELETE FROM tasks WHERE run_id = $run AND namespace_id = $ns;",
            "DELETE FROM visibility WHERE namespace_id = $ns AND run_id = $run;",
            "DELETE FROM current_executions WHERE namespace_id = $ns AND workflow_id = $wf AND run_id = $run;",
        })
        {
            var cmd = Command(tx, sql);
            cmd.Parameters.AddWithValue("$ns", write.NamespaceId);
            cmd.Parameters.AddWithValue("$run", write.RunId);
            cmd.Parameters.AddWithValue("$wf", write.WorkflowId);
            cmd.ExecuteNonQuery();
        }
    }

    private void CreateRun(SqliteTransaction tx, ExecutionWrite write)
    {
        var current = Command(tx, "SELECT run_id FROM current_executions WHERE namespace_id = $ns AND workflow_id = $wf;");
        current.Parameters.AddWithValue("$ns", write.NamespaceId);
        current.Parameters.AddWithValue("$wf", write.WorkflowId);
        var existing = current.ExecuteScalar() as string;
        if (existing != write.ReplacesCurrentRunId)
        {
            throw new ConditionFailedException($"Workflow {write.WorkflowId} has current run {existing ?? "(none)"}, not {write.ReplacesCurrentRunId ?? "(none)"}.");
        }

        var upsert = Command(tx, """
            INSERT INTO current_executions (namespace_id, workflow_id, run_id) VALUES ($ns, $wf, $run)
            ON CONFLICT (namespace_id, workflow_id) DO UPDATE SET run_id = excluded.run_id;
            """);
        upsert.Parameters.AddWithValue("$ns", write.NamespaceId);
        upsert.Parameters.AddWithValue("$wf", write.WorkflowId);
        upsert.Parameters.AddWithValue("$run", write.RunId);
        upsert.ExecuteNonQuery();

        var insert = Command(tx, """
            INSERT INTO executions (namespace_id, run_id, workflow_id, shard_id, version, status, state)
            VALUES ($ns, $run, $wf, $shard, $new, $status, $state);
            """);
        insert.Parameters.AddWithValue("$ns", write.NamespaceId);
        insert.Parameters.AddWithValue("$run", write.RunId);
        insert.Parameters.AddWithValue("$wf", write.WorkflowId);
        insert.Parameters.AddWithValue("$shard", write.ShardId);
        insert.Parameters.AddWithValue("$new", write.NewVersion);
        insert.Parameters.AddWithValue("$status", write.Status);
        insert.Parameters.AddWithValue("$state", write.State);
        try
        {
            insert.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new ConditionFailedException($"Run {write.RunId} already exists.");
        }
    }

    /// <summary>
    /// The writer's commands are kept and reused so each statement is prepared once, not once per write.
    /// Only the commit path uses them, under the writer lock.
    /// </summary>
    private SqliteCommand Command(SqliteTransaction tx, string sql)
    {
        if (!_commands.TryGetValue(sql, out var cmd))
        {
            cmd = _writer.CreateCommand();
            cmd.CommandText = sql;
            _commands[sql] = cmd;
        }

        cmd.Transaction = tx;
        cmd.Parameters.Clear();
        return cmd;
    }
}
