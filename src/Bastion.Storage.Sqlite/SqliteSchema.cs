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

        // 2: encryption at rest. Namespace keys wrapped by the master key. A database that already holds runs was
        // written in plain text by an earlier version: it is marked so, and a server refuses to mix the two.
        """
        CREATE TABLE data_keys (namespace_id TEXT NOT NULL, version INTEGER NOT NULL, wrapped BLOB NOT NULL,
            retired INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (namespace_id, version));
        INSERT INTO cluster_metadata (key, value) SELECT 'encryption', 'none' WHERE EXISTS (SELECT 1 FROM executions);
        """,
    ];
}
