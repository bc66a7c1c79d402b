using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>
/// Shard rows. A write transaction here holds the database's one write lock, so a commit in flight finishes before an
/// acquire moves the range id, and every commit after it reads the new one.
/// </summary>
public sealed partial class SqliteStorageProvider
{
    public Task<ShardLease> AcquireShardAsync(int shardId, string owner, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return WriteAsync(() =>
        {
            using var tx = _writer.BeginTransaction(deferred: false);
            var replaced = ReadShard(_writer, tx, shardId);
            using var cmd = _writer.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO shards (shard_id, range_id, owner, lease_until) VALUES ($id, 1, $owner, $until)
                ON CONFLICT (shard_id) DO UPDATE SET range_id = range_id + 1, owner = excluded.owner, lease_until = excluded.lease_until
                RETURNING range_id;
                """;
            cmd.Parameters.AddWithValue("$id", shardId);
            cmd.Parameters.AddWithValue("$owner", owner);
            cmd.Parameters.AddWithValue("$until", leaseUntil.Ticks);
            var rangeId = (long)cmd.ExecuteScalar()!;
            tx.Commit();
            return new ShardLease(shardId, rangeId, owner, leaseUntil) { Replaced = replaced };
        }, cancellationToken);
    }

    public Task<ShardLease> RenewShardAsync(ShardLease lease, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "UPDATE shards SET lease_until = $until WHERE shard_id = $id AND range_id = $range;";
            cmd.Parameters.AddWithValue("$until", leaseUntil.Ticks);
            cmd.Parameters.AddWithValue("$id", lease.ShardId);
            cmd.Parameters.AddWithValue("$range", lease.RangeId);
            return cmd.ExecuteNonQuery() == 1 ? lease with { LeaseUntil = leaseUntil } : throw new ShardOwnershipLostException(lease.ShardId, lease.RangeId);
        }, cancellationToken);
    }

    public Task ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "UPDATE shards SET owner = NULL, lease_until = 0 WHERE shard_id = $id AND range_id = $range;";
            cmd.Parameters.AddWithValue("$id", lease.ShardId);
            cmd.Parameters.AddWithValue("$range", lease.RangeId);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ShardRecord>> ReadShardsAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<ShardRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT shard_id, range_id, owner, lease_until FROM shards ORDER BY shard_id;";
        using var reader = cmd.ExecuteReader();
        var result = new List<ShardRecord>();
        while (reader.Read())
        {
            result.Add(ShardOf(reader));
        }

        return result;
    }, cancellationToken);

    private static ShardRecord? ReadShard(SqliteConnection connection, SqliteTransaction tx, int shardId)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT shard_id, range_id, owner, lease_until FROM shards WHERE shard_id = $id;";
        cmd.Parameters.AddWithValue("$id", shardId);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? ShardOf(reader) : null;
    }

    private static ShardRecord ShardOf(SqliteDataReader reader) => new(
        reader.GetInt32(0),
        reader.GetInt64(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        new DateTime(reader.GetInt64(3), DateTimeKind.Utc));
}
