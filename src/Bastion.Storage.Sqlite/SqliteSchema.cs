namespace Bastion.Storage.Sqlite;

/// <summary>
/// The schema, as an ordered list of migrations embedded in the binary. The store records the version it
/// reached in <c>schema_version</c> and applies the rest on start; never edit a shipped step, add one.
/// </summary>
internal static class SqliteSchema
{
    public static IReadOnlyList<string> Migrations { get; } =
    [
        // 1: the durable execution core.
        """
        CREATE TABLE cluster_metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE shards (shard_id INTEGER PRIMARY KEY, range_id INTEGER NOT NULL);
        CREATE TABLE namespaces (id TEXT PRIMARY KEY, name TEXT NOT NULL, account TEXT NOT NULL, data BLOB NOT NULL,
            UNIQUE (account, name));
        CREATE TABLE current_executions (namespace_id TEXT NOT NULL, workflow_id TEXT NOT NULL, run_id TEXT NOT NULL,
            PRIMARY KEY (namespace_id, workflow_id));
        CREATE TABLE executions (namespace_id TEXT NOT NULL, run_id TEXT NOT NULL, workflow_id TEXT NOT NULL,
            shard_id INTEGER NOT NULL, version INTEGER NOT NULL, status INTEGER NOT NULL, state BLOB NOT NULL,
            PRIMARY KEY (namespace_id, run_id));
        CREATE TABLE history (namespace_id TEXT NOT NULL, run_id TEXT NOT NULL, first_event_id INTEGER NOT NULL,
            last_event_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (namespace_id, run_id, first_event_id));
        CREATE TABLE tasks (run_id TEXT NOT NULL, kind INTEGER NOT NULL, event_id INTEGER NOT NULL, attempt INTEGER NOT NULL,
            shard_id INTEGER NOT NULL, namespace_id TEXT NOT NULL, workflow_id TEXT NOT NULL, visible_time INTEGER NOT NULL,
            task_queue TEXT, PRIMARY KEY (run_id, kind, event_id, attempt));
        CREATE INDEX tasks_by_shard ON tasks (shard_id);
        """,

        // 2: visibility, one row per run, written with the run's state (docs/visibility.md). Keyset indexes end
        // in run_id so a page boundary is exact.
        """
        CREATE TABLE visibility (namespace_id TEXT NOT NULL, run_id TEXT NOT NULL, workflow_id TEXT NOT NULL,
            workflow_type TEXT NOT NULL, status INTEGER NOT NULL, start_time INTEGER NOT NULL, execution_time INTEGER NOT NULL,
            close_time INTEGER, execution_duration INTEGER, history_length INTEGER NOT NULL, history_size_bytes INTEGER NOT NULL,
            state_transition_count INTEGER NOT NULL, task_queue TEXT NOT NULL, parent_workflow_id TEXT, parent_run_id TEXT,
            root_workflow_id TEXT, root_run_id TEXT, search_attributes TEXT NOT NULL, info BLOB NOT NULL,
            PRIMARY KEY (namespace_id, run_id));
        CREATE INDEX visibility_by_start ON visibility (namespace_id, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_execution ON visibility (namespace_id, execution_time DESC, run_id DESC);
        CREATE INDEX visibility_by_close ON visibility (namespace_id, COALESCE(close_time, 0) DESC, run_id DESC);
        CREATE INDEX visibility_by_status ON visibility (namespace_id, status, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_type ON visibility (namespace_id, workflow_type, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_workflow_id ON visibility (namespace_id, workflow_id, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_task_queue ON visibility (namespace_id, task_queue, start_time DESC, run_id DESC);
        """,

        // 3: identities (users, service accounts, API keys as hashes, groups, operator grants, async operations).
        """
        CREATE TABLE identities (kind TEXT NOT NULL, id TEXT NOT NULL, account TEXT NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY (kind, id));
        """,

        // 4: the hash-chained audit log, its retention anchor and the export sinks' cursors.
        """
        CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, emit_time INTEGER NOT NULL, account TEXT, namespace_id TEXT,
            data BLOB NOT NULL, hash BLOB NOT NULL);
        CREATE INDEX audit_log_by_time ON audit_log (emit_time);
        CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash BLOB NOT NULL);
        CREATE TABLE audit_cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);
        """,

        // 5: encryption at rest. Namespace keys wrapped by the master key. A database that already holds runs or
        // audit records was written in plain text by an earlier version: it is marked so, and a server refuses to
        // mix the two (audit records are encrypted too, so a plain log must not continue encrypted).
        """
        CREATE TABLE data_keys (namespace_id TEXT NOT NULL, version INTEGER NOT NULL, wrapped BLOB NOT NULL,
            retired INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (namespace_id, version));
        INSERT INTO cluster_metadata (key, value) SELECT 'encryption', 'none'
            WHERE EXISTS (SELECT 1 FROM executions) OR EXISTS (SELECT 1 FROM audit_log);
        """,

        // 6: schedules. The id is a blind index; the state (id, spec, action, info, memo, search attributes) is encoded.
        """
        CREATE TABLE schedules (namespace_id TEXT NOT NULL, schedule_id TEXT NOT NULL, version INTEGER NOT NULL,
            data BLOB NOT NULL, PRIMARY KEY (namespace_id, schedule_id));
        """,

        // 7: batch operation jobs (docs/batch-operations.md): the request encoded (customer data), the job id as a
        // blind index, progress and cursor plain.
        """
        CREATE TABLE batch_operations (namespace_id TEXT NOT NULL, job_key TEXT NOT NULL, state INTEGER NOT NULL,
            start_time INTEGER NOT NULL, close_time INTEGER, total INTEGER NOT NULL, completed INTEGER NOT NULL,
            failed INTEGER NOT NULL, cursor TEXT, request BLOB NOT NULL, PRIMARY KEY (namespace_id, job_key));
        CREATE INDEX batch_operations_by_start ON batch_operations (namespace_id, start_time DESC, job_key DESC);
        CREATE INDEX batch_operations_running ON batch_operations (state) WHERE state = 1;
        """,

        // 8: a shard's tasks are read by due time, a window at a time (keyset order: due time, then the key).
        """
        CREATE INDEX tasks_by_shard_due ON tasks (shard_id, visible_time, run_id, kind, event_id, attempt);
        DROP INDEX tasks_by_shard;
        """,

        // 9: a shard's owner pages through its own runs (retention catch-up) by run id.
        """
        CREATE INDEX executions_by_shard ON executions (shard_id, run_id);
        """,

        // 10: a shard's owner and the lease it renews, so another server can tell a live owner from a departed one.
        """
        ALTER TABLE shards ADD COLUMN owner TEXT;
        ALTER TABLE shards ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
        """,

        // 11: the audit log as several chains (docs/storage-design.md §2), each with its head and retention anchor in
        // audit_chains; records get the time they were committed (the order readers merge chains in). The one chain
        // of before becomes 'legacy', closed for appends: its records keep their numbers, hashes and codec identities.
        """
        CREATE TABLE audit_chains (chain_id TEXT PRIMARY KEY, head_seq INTEGER NOT NULL, head_hash BLOB NOT NULL,
            anchor_seq INTEGER NOT NULL, anchor_hash BLOB NOT NULL);
        INSERT INTO audit_chains (chain_id, head_seq, head_hash, anchor_seq, anchor_hash)
        SELECT 'legacy',
            COALESCE((SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1), (SELECT seq FROM audit_anchor WHERE id = 1)),
            COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), (SELECT hash FROM audit_anchor WHERE id = 1)),
            COALESCE((SELECT seq FROM audit_anchor WHERE id = 1), 0),
            COALESCE((SELECT hash FROM audit_anchor WHERE id = 1), X'')
        WHERE EXISTS (SELECT 1 FROM audit_log) OR EXISTS (SELECT 1 FROM audit_anchor);
        CREATE TABLE audit_log_chained (chain_id TEXT NOT NULL, seq INTEGER NOT NULL, commit_time INTEGER NOT NULL,
            emit_time INTEGER NOT NULL, account TEXT, namespace_id TEXT, data BLOB NOT NULL, hash BLOB NOT NULL,
            PRIMARY KEY (chain_id, seq));
        INSERT INTO audit_log_chained (chain_id, seq, commit_time, emit_time, account, namespace_id, data, hash)
            SELECT 'legacy', seq, emit_time, emit_time, account, namespace_id, data, hash FROM audit_log ORDER BY seq;
        DROP TABLE audit_log;
        ALTER TABLE audit_log_chained RENAME TO audit_log;
        CREATE INDEX audit_log_by_time ON audit_log (emit_time);
        CREATE TABLE audit_cursors_chained (sink TEXT NOT NULL, chain_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (sink, chain_id));
        INSERT INTO audit_cursors_chained (sink, chain_id, seq) SELECT sink, 'legacy', seq FROM audit_cursors;
        DROP TABLE audit_cursors;
        ALTER TABLE audit_cursors_chained RENAME TO audit_cursors;
        DROP TABLE audit_anchor;
        """,

        // 12: schedules and batch jobs belong to a shard, whose owner runs them (rows from before: NULL, the shard-0
        // owner's until their next write).
        """
        ALTER TABLE schedules ADD COLUMN shard_id INTEGER;
        CREATE INDEX schedules_by_shard ON schedules (shard_id);
        ALTER TABLE batch_operations ADD COLUMN shard_id INTEGER;
        CREATE INDEX batch_operations_running_by_shard ON batch_operations (shard_id) WHERE state = 1;
        """,

        // 13: the nodes of a cluster, each with the address others reach it at and the lease it renews (issue 17).
        """
        CREATE TABLE cluster_nodes (node_id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at INTEGER NOT NULL, lease_until INTEGER NOT NULL);
        """,

        // 14: sign-in state every node shares (ISignInStore): values sealed with the key ring (the web UI's Data
        // Protection keys, OIDC client secrets), the SAML assertion ids used, until they expire; the UI's sessions.
        """
        CREATE TABLE sealed_values (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE used_assertions (assertion_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
        CREATE INDEX used_assertions_by_expiry ON used_assertions (expires_at);
        CREATE TABLE ui_sessions (id_hash TEXT PRIMARY KEY, data TEXT NOT NULL, created INTEGER NOT NULL, last_seen INTEGER NOT NULL);
        """,

        // 15: Nexus endpoints (issue 19), one row each, versioned; a name is unique within its account.
        """
        CREATE TABLE nexus_endpoints (id TEXT PRIMARY KEY, account TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
            data BLOB NOT NULL, UNIQUE (account, name));
        """,

        // 16: worker deployments (issue 21), one row each, keyed by namespace and a blind index of the name, versioned.
        """
        CREATE TABLE worker_deployments (namespace_id TEXT NOT NULL, name_key TEXT NOT NULL, version INTEGER NOT NULL,
            data BLOB NOT NULL, PRIMARY KEY (namespace_id, name_key));
        """,

        // 17: task queue configurations (issue 21), one row per queue and type, keyed by namespace and a blind index of the name with the type, versioned.
        """
        CREATE TABLE task_queue_configs (namespace_id TEXT NOT NULL, queue_key TEXT NOT NULL, version INTEGER NOT NULL,
            data BLOB NOT NULL, PRIMARY KEY (namespace_id, queue_key));
        """,

        // 18: the versions of the cluster's internal messages a node reads and writes (rolling upgrades, issue 17).
        """
        ALTER TABLE cluster_nodes ADD COLUMN protocol_oldest INTEGER NOT NULL DEFAULT 3;
        ALTER TABLE cluster_nodes ADD COLUMN protocol_newest INTEGER NOT NULL DEFAULT 3;
        """,

        // 19: deleted namespaces whose rows are still being purged (INamespacePurgeStore), written with the deletion.
        """
        CREATE TABLE namespace_purges (namespace_id TEXT PRIMARY KEY, name TEXT NOT NULL, account TEXT NOT NULL,
            deleted_at INTEGER NOT NULL, purged INTEGER NOT NULL DEFAULT 0);
        """,
    ];
}
