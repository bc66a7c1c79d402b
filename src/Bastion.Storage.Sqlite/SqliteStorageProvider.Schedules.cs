using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

public sealed partial class SqliteStorageProvider
{
    public Task<ScheduleRecord?> GetScheduleAsync(string namespaceId, string scheduleId, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT version, data FROM schedules WHERE namespace_id = $ns AND schedule_id = $id;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        cmd.Parameters.AddWithValue("$id", scheduleId);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? new ScheduleRecord(namespaceId, scheduleId, reader.GetInt64(0), (byte[])reader[1]) : null;
    }, cancellationToken);

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string namespaceId, CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<ScheduleRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT namespace_id, schedule_id, version, data FROM schedules WHERE namespace_id = $ns;";
        cmd.Parameters.AddWithValue("$ns", namespaceId);
        return ReadSchedules(cmd);
    }, cancellationToken);

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesOfShardAsync(int shardId, bool withUnassigned, CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<ScheduleRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT namespace_id, schedule_id, version, data FROM schedules WHERE shard_id = $shard OR ($unassigned AND shard_id IS NULL);";
        cmd.Parameters.AddWithValue("$shard", shardId);
        cmd.Parameters.AddWithValue("$unassigned", withUnassigned);
        return ReadSchedules(cmd);
    }, cancellationToken);

    private static List<ScheduleRecord> ReadSchedules(SqliteCommand cmd)
    {
        using var reader = cmd.ExecuteReader();
        var records = new List<ScheduleRecord>();
        while (reader.Read())
        {
            records.Add(new ScheduleRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), (byte[])reader[3]));
        }

        return records;
    }

    private void ApplySchedule(SqliteTransaction tx, ScheduleWrite write)
    {
        SqliteCommand cmd;
        if (write.ExpectedVersion == 0)
        {
            cmd = Command(tx, "INSERT OR IGNORE INTO schedules (namespace_id, schedule_id, version, data, shard_id) VALUES ($ns, $id, $new, $data, $shard);");
        }
        else if (write.Deletes)
        {
            cmd = Command(tx, "DELETE FROM schedules WHERE namespace_id = $ns AND schedule_id = $id AND version = $expected;");
        }
        else
        {
            cmd = Command(tx, "UPDATE schedules SET version = $new, data = $data, shard_id = $shard WHERE namespace_id = $ns AND schedule_id = $id AND version = $expected;");
        }

        cmd.Parameters.AddWithValue("$ns", write.NamespaceId);
        cmd.Parameters.AddWithValue("$id", write.ScheduleId);
        cmd.Parameters.AddWithValue("$new", write.NewVersion);
        cmd.Parameters.AddWithValue("$expected", write.ExpectedVersion);
        cmd.Parameters.AddWithValue("$data", write.Data);
        cmd.Parameters.AddWithValue("$shard", write.ShardId);
        if (cmd.ExecuteNonQuery() != 1)
        {
            throw new ConditionFailedException($"Schedule {write.ScheduleId} changed since version {write.ExpectedVersion}.");
        }
    }
}
