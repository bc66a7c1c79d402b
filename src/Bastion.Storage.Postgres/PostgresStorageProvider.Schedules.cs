using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Schedules: versioned rows written by transitions with the runs their actions start.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<ScheduleRecord?> GetScheduleAsync(string namespaceId, string scheduleId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT version, data FROM schedules WHERE namespace_id = @ns AND schedule_id = @id;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("id", scheduleId);
        var rows = await RowsAsync(cmd, r => new ScheduleRecord(namespaceId, scheduleId, r.GetInt64(0), (byte[])r[1]), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }, cancellationToken);

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT namespace_id, schedule_id, version, data FROM schedules WHERE namespace_id = @ns;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        return await RowsAsync(cmd, ScheduleOf, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesOfShardAsync(int shardId, bool withUnassigned, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT namespace_id, schedule_id, version, data FROM schedules WHERE shard_id = @shard OR (@unassigned AND shard_id IS NULL);", connection);
        cmd.Parameters.AddWithValue("shard", shardId);
        cmd.Parameters.AddWithValue("unassigned", withUnassigned);
        return await RowsAsync(cmd, ScheduleOf, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    private static ScheduleRecord ScheduleOf(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2), (byte[])r[3]);

    private static void ApplySchedule(PostgresCommitPlan plan, ScheduleWrite write)
    {
        var rejection = $"Schedule {write.ScheduleId} changed since version {write.ExpectedVersion}.";
        var statement = write.ExpectedVersion == 0
            ? plan.Add("""
                INSERT INTO schedules (namespace_id, schedule_id, version, data, shard_id) VALUES (@ns, @id, @new, @data, @shard)
                ON CONFLICT DO NOTHING;
                """, rejection).With("new", write.NewVersion).With("data", write.Data).With("shard", write.ShardId)
            : write.Deletes
                ? plan.Add("DELETE FROM schedules WHERE namespace_id = @ns AND schedule_id = @id AND version = @expected;", rejection)
                    .With("expected", write.ExpectedVersion)
                : plan.Add("UPDATE schedules SET version = @new, data = @data, shard_id = @shard WHERE namespace_id = @ns AND schedule_id = @id AND version = @expected;", rejection)
                    .With("new", write.NewVersion).With("data", write.Data).With("expected", write.ExpectedVersion).With("shard", write.ShardId);
        statement.With("ns", write.NamespaceId).With("id", write.ScheduleId);
    }
}
