namespace Bastion.Storage.Postgres;

/// <summary>
/// The schema, as an ordered list of migrations embedded in the binary (docs/storage-design.md §4). The database
/// records the version it reached in <c>schema_version</c>; never edit a shipped step, add one.
/// </summary>
/// <remarks>
/// Times are <c>bigint</c> UTC ticks and binary values <c>bytea</c>, as SQLite keeps them, so keyset cursors and page
/// tokens mean the same on both. Visibility's text columns compare by code point (<c>COLLATE "C"</c>), as SQLite's
/// do: STARTS_WITH is a range over them, and list order must not depend on the database's locale.
/// </remarks>
public static partial class PostgresSchema
{
    public static IReadOnlyList<string> Migrations { get; } =
    [
        // 1: SQLite's seven steps in their final shape, plus what issue 14 adds: shard leases and ack levels, audit
        // chains (the one chain the contracts know today is 'legacy'). Every table holding encoded records has `pos`,
        // an identity column: re-encryption pages through it (SQLite uses its rowid; PostgreSQL has no stable one).
        """
        CREATE TABLE cluster_metadata (key text PRIMARY KEY, value text NOT NULL);

        CREATE TABLE shards (shard_id integer PRIMARY KEY, range_id bigint NOT NULL, owner text,
            lease_until bigint NOT NULL DEFAULT 0, transfer_ack bigint NOT NULL DEFAULT 0,
            timer_ack_time bigint NOT NULL DEFAULT 0, timer_ack_id bigint NOT NULL DEFAULT 0);

        CREATE TABLE namespaces (id text PRIMARY KEY, name text NOT NULL, account text NOT NULL, data bytea NOT NULL,
            UNIQUE (account, name));

        CREATE TABLE identities (kind text NOT NULL, id text NOT NULL, account text NOT NULL, data bytea NOT NULL,
            PRIMARY KEY (kind, id));

        CREATE TABLE data_keys (namespace_id text NOT NULL, version integer NOT NULL, wrapped bytea NOT NULL,
            retired boolean NOT NULL DEFAULT false, PRIMARY KEY (namespace_id, version));

        CREATE TABLE current_executions (namespace_id text NOT NULL, workflow_id text NOT NULL, run_id text NOT NULL,
            PRIMARY KEY (namespace_id, workflow_id));

        CREATE TABLE executions (namespace_id text NOT NULL, run_id text COLLATE "C" NOT NULL, workflow_id text NOT NULL,
            shard_id integer NOT NULL, version bigint NOT NULL, status integer NOT NULL, state bytea NOT NULL,
            pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (namespace_id, run_id));
        CREATE INDEX executions_by_shard ON executions (shard_id, run_id);
        CREATE INDEX executions_by_pos ON executions (pos);

        CREATE TABLE history (namespace_id text NOT NULL, run_id text NOT NULL, first_event_id bigint NOT NULL,
            last_event_id bigint NOT NULL, data bytea NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (namespace_id, run_id, first_event_id));
        CREATE INDEX history_by_pos ON history (pos);

        -- One task table keyed like SQLite's, read by due time a window at a time (ITaskStore.ReadTasksAsync); the
        -- transfer (by task id) and timer (by fire time) split of docs/storage-design.md comes with task ids. Run ids
        -- compare by code point, as on SQLite, since pages are keyset on them.
        CREATE TABLE tasks (run_id text COLLATE "C" NOT NULL, kind integer NOT NULL, event_id bigint NOT NULL, attempt integer NOT NULL,
            shard_id integer NOT NULL, namespace_id text NOT NULL, workflow_id text NOT NULL, visible_time bigint NOT NULL,
            task_queue text, pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (run_id, kind, event_id, attempt));
        CREATE INDEX tasks_by_shard_due ON tasks (shard_id, visible_time, run_id, kind, event_id, attempt);
        CREATE INDEX tasks_by_pos ON tasks (pos);

        CREATE TABLE visibility (namespace_id text COLLATE "C" NOT NULL, run_id text COLLATE "C" NOT NULL,
            workflow_id text COLLATE "C" NOT NULL, workflow_type text COLLATE "C" NOT NULL, status integer NOT NULL,
            start_time bigint NOT NULL, execution_time bigint NOT NULL, close_time bigint, execution_duration bigint,
            history_length bigint NOT NULL, history_size_bytes bigint NOT NULL, state_transition_count bigint NOT NULL,
            task_queue text COLLATE "C" NOT NULL, parent_workflow_id text COLLATE "C", parent_run_id text COLLATE "C",
            root_workflow_id text COLLATE "C", root_run_id text COLLATE "C", search_attributes jsonb NOT NULL,
            info bytea NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (namespace_id, run_id));
        CREATE INDEX visibility_by_pos ON visibility (pos);
        CREATE INDEX visibility_by_start ON visibility (namespace_id, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_execution ON visibility (namespace_id, execution_time DESC, run_id DESC);
        CREATE INDEX visibility_by_close ON visibility (namespace_id, COALESCE(close_time, 0) DESC, run_id DESC);
        CREATE INDEX visibility_by_status ON visibility (namespace_id, status, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_type ON visibility (namespace_id, workflow_type, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_workflow_id ON visibility (namespace_id, workflow_id, start_time DESC, run_id DESC);
        CREATE INDEX visibility_by_task_queue ON visibility (namespace_id, task_queue, start_time DESC, run_id DESC);
        -- KeywordList containment (PostgresVisibilityDialect.ListContains) is a jsonb @> this index answers.
        CREATE INDEX visibility_attributes ON visibility USING gin (search_attributes jsonb_path_ops);

        CREATE TABLE schedules (namespace_id text NOT NULL, schedule_id text NOT NULL, version bigint NOT NULL,
            data bytea NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (namespace_id, schedule_id));
        CREATE INDEX schedules_by_pos ON schedules (pos);

        CREATE TABLE batch_operations (namespace_id text NOT NULL, job_key text COLLATE "C" NOT NULL,
            state integer NOT NULL, start_time bigint NOT NULL, close_time bigint, total bigint NOT NULL,
            completed bigint NOT NULL, failed bigint NOT NULL, cursor text, request bytea NOT NULL,
            pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (namespace_id, job_key));
        CREATE INDEX batch_operations_by_start ON batch_operations (namespace_id, start_time DESC, job_key DESC);
        CREATE INDEX batch_operations_running ON batch_operations (namespace_id) WHERE state = 1;
        CREATE INDEX batch_operations_by_pos ON batch_operations (pos);

        CREATE TABLE audit_chains (chain_id text PRIMARY KEY, head_seq bigint NOT NULL, head_hash bytea NOT NULL,
            anchor_seq bigint NOT NULL DEFAULT 0, anchor_hash bytea);
        CREATE TABLE audit_log (chain_id text NOT NULL, seq bigint NOT NULL, commit_time bigint NOT NULL,
            emit_time bigint NOT NULL, account text, namespace_id text, data bytea NOT NULL, hash bytea NOT NULL,
            PRIMARY KEY (chain_id, seq));
        CREATE INDEX audit_log_by_commit ON audit_log (commit_time, chain_id, seq);
        CREATE INDEX audit_log_by_account ON audit_log (account, emit_time);
        CREATE TABLE audit_cursors (sink text NOT NULL, chain_id text NOT NULL, seq bigint NOT NULL,
            PRIMARY KEY (sink, chain_id));
        """,

        // 2: schedules and batch jobs belong to a shard, whose owner runs them (rows from before: NULL, the shard-0
        // owner's until their next write).
        """
        ALTER TABLE schedules ADD COLUMN shard_id integer;
        CREATE INDEX schedules_by_shard ON schedules (shard_id);
        ALTER TABLE batch_operations ADD COLUMN shard_id integer;
        CREATE INDEX batch_operations_running_by_shard ON batch_operations (shard_id) WHERE state = 1;
        """,

        // 3: the nodes of a cluster, each with the address others reach it at and the lease it renews (issue 17).
        """
        CREATE TABLE cluster_nodes (node_id text PRIMARY KEY, address text NOT NULL, started_at bigint NOT NULL, lease_until bigint NOT NULL);
        """,

        // 4: sign-in state every node shares (ISignInStore): values sealed with the key ring (the web UI's Data
        // Protection keys, OIDC client secrets; `pos` for re-encryption), the SAML assertion ids used, until they expire;
        // the UI's sessions (IUiSessionStore).
        """
        CREATE TABLE sealed_values (name text COLLATE "C" PRIMARY KEY, value text NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY);
        CREATE INDEX sealed_values_by_pos ON sealed_values (pos);
        CREATE TABLE used_assertions (assertion_id text PRIMARY KEY, expires_at bigint NOT NULL);
        CREATE INDEX used_assertions_by_expiry ON used_assertions (expires_at);
        CREATE TABLE ui_sessions (id_hash text PRIMARY KEY, data text NOT NULL, created bigint NOT NULL, last_seen bigint NOT NULL);
        """,

        // 5: Nexus endpoints (issue 19), one row each, versioned; a name is unique within its account.
        """
        CREATE TABLE nexus_endpoints (id text PRIMARY KEY, account text NOT NULL, name text COLLATE "C" NOT NULL, version bigint NOT NULL,
            data bytea NOT NULL, UNIQUE (account, name));
        """,

        // Worker deployments (issue 21), one row each, keyed by namespace and a blind index of the name, versioned.
        """
        CREATE TABLE worker_deployments (namespace_id text NOT NULL, name_key text COLLATE "C" NOT NULL, version bigint NOT NULL,
            data bytea NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (namespace_id, name_key));
        CREATE INDEX worker_deployments_by_pos ON worker_deployments (pos);
        """,

        // Task queue configurations (issue 21), one row per queue and type, keyed by namespace and a blind index of the name with the type, versioned.
        """
        CREATE TABLE task_queue_configs (namespace_id text NOT NULL, queue_key text COLLATE "C" NOT NULL, version bigint NOT NULL,
            data bytea NOT NULL, pos bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (namespace_id, queue_key));
        CREATE INDEX task_queue_configs_by_pos ON task_queue_configs (pos);
        """,

        // The versions of the cluster's internal messages each node reads and writes (rolling upgrades, issue 17); rows of
        // nodes from before them read as 3.
        """
        ALTER TABLE cluster_nodes ADD COLUMN protocol_oldest integer NOT NULL DEFAULT 3;
        ALTER TABLE cluster_nodes ADD COLUMN protocol_newest integer NOT NULL DEFAULT 3;
        """,

        // Deleted namespaces whose rows are still being purged (INamespacePurgeStore), written with the deletion.
        """
        CREATE TABLE namespace_purges (namespace_id text PRIMARY KEY, name text NOT NULL, account text NOT NULL,
            deleted_at bigint NOT NULL, purged bigint NOT NULL DEFAULT 0);
        """,

        // The database's clock at each node's last heartbeat, so `cluster status` shows how far each node's clock is from it.
        """
        ALTER TABLE cluster_nodes ADD COLUMN heartbeat_at bigint;
        """,
    ];
}
