using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>Task queue configurations: versioned rows written by transitions (compare-and-swap on the version).</summary>
public sealed partial class SqliteStorageProvider
{
    public Task<IReadOnlyList<TaskQueueConfigRecord>> ListTaskQueueConfigsAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<TaskQueueConfigRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT namespace_id, queue_key, version, data FROM task_queue_configs ORDER BY namespace_id, queue_key;";
        using var reader = cmd.ExecuteReader();
        var result = new List<TaskQueueConfigRecord>();
        while (reader.Read())
        {
            result.Add(new TaskQueueConfigRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), (byte[])reader[3]));
        }

        return result;
    }, cancellationToken);

    private void ApplyTaskQueueConfig(SqliteTransaction tx, TaskQueueConfigWrite write)
    {
        var record = write.Record;
        var cmd = Command(tx, write.ExpectedVersion == 0
            ? "INSERT OR IGNORE INTO task_queue_configs (namespace_id, queue_key, version, data) VALUES ($ns, $key, $version, $data);"
            : "UPDATE task_queue_configs SET version = $version, data = $data WHERE namespace_id = $ns AND queue_key = $key AND version = $expected;");
        cmd.Parameters.AddWithValue("$ns", record.NamespaceId);
        cmd.Parameters.AddWithValue("$key", record.Key);
        cmd.Parameters.AddWithValue("$version", record.Version);
        cmd.Parameters.AddWithValue("$data", record.Data);
        cmd.Parameters.AddWithValue("$expected", write.ExpectedVersion);
        if (cmd.ExecuteNonQuery() != 1)
        {
            throw new ConditionFailedException($"Task queue configuration {record.Key} of namespace {record.NamespaceId} changed since version {write.ExpectedVersion}.");
        }
    }
}
