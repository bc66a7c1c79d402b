using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Task queue configurations: versioned rows written by transitions (compare-and-swap on the version).</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<IReadOnlyList<TaskQueueConfigRecord>> ListTaskQueueConfigsAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT namespace_id, queue_key, version, data FROM task_queue_configs ORDER BY namespace_id, queue_key;", connection);
        return await RowsAsync(cmd, r => new TaskQueueConfigRecord(r.GetString(0), r.GetString(1), r.GetInt64(2), (byte[])r[3]), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    private static void ApplyTaskQueueConfig(PostgresCommitPlan plan, TaskQueueConfigWrite write)
    {
        var record = write.Record;
        var rejection = $"Task queue configuration {record.Key} of namespace {record.NamespaceId} changed since version {write.ExpectedVersion}.";
        if (write.ExpectedVersion == 0)
        {
            plan.Add("INSERT INTO task_queue_configs (namespace_id, queue_key, version, data) VALUES (@ns, @key, @version, @data) ON CONFLICT DO NOTHING;", rejection)
                .With("ns", record.NamespaceId).With("key", record.Key).With("version", record.Version).With("data", record.Data);
        }
        else
        {
            plan.Add("UPDATE task_queue_configs SET version = @version, data = @data WHERE namespace_id = @ns AND queue_key = @key AND version = @expected;", rejection)
                .With("ns", record.NamespaceId).With("key", record.Key).With("version", record.Version).With("data", record.Data).With("expected", write.ExpectedVersion);
        }
    }
}
