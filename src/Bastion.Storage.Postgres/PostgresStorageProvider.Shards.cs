using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// Shard rows. Commits take the row's shared lock (<c>FOR SHARE</c>) for the fence; an acquire updates the row, so it
/// waits for the commits in flight, and every commit after it reads the new range id and is refused with the old one.
/// </summary>
public sealed partial class PostgresStorageProvider
{
    public Task<ShardLease> AcquireShardAsync(int shardId, string owner, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return ReadAsync(async connection =>
        {
            // The old row is locked and read first, so what is reported is the row this acquire replaced.
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            ShardRecord? replaced = null;
            await using (var read = new NpgsqlCommand("SELECT range_id, owner, lease_until FROM shards WHERE shard_id = @id FOR UPDATE;", connection, tx))
            {
                read.Parameters.AddWithValue("id", shardId);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    replaced = new ShardRecord(shardId, reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), new DateTime(reader.GetInt64(2), DateTimeKind.Utc));
                }
            }

            await using var cmd = new NpgsqlCommand("""
                INSERT INTO shards (shard_id, range_id, owner, lease_until) VALUES (@id, 1, @owner, @until)
                ON CONFLICT (shard_id) DO UPDATE SET range_id = shards.range_id + 1, owner = excluded.owner, lease_until = excluded.lease_until
                RETURNING range_id;
                """, connection, tx);
            cmd.Parameters.AddWithValue("id", shardId);
            cmd.Parameters.AddWithValue("owner", owner);
            cmd.Parameters.AddWithValue("until", leaseUntil.Ticks);
            var rangeId = (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new ShardLease(shardId, rangeId, owner, leaseUntil) { Replaced = replaced };
        }, cancellationToken);
    }

    public Task<ShardLease> RenewShardAsync(ShardLease lease, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("UPDATE shards SET lease_until = @until WHERE shard_id = @id AND range_id = @range;", connection);
            cmd.Parameters.AddWithValue("until", leaseUntil.Ticks);
            cmd.Parameters.AddWithValue("id", lease.ShardId);
            cmd.Parameters.AddWithValue("range", lease.RangeId);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1
                ? lease with { LeaseUntil = leaseUntil }
                : throw new ShardOwnershipLostException(lease.ShardId, lease.RangeId);
        }, cancellationToken);
    }

    public Task ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("UPDATE shards SET owner = NULL, lease_until = 0 WHERE shard_id = @id AND range_id = @range;", connection);
            cmd.Parameters.AddWithValue("id", lease.ShardId);
            cmd.Parameters.AddWithValue("range", lease.RangeId);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ShardRecord>> ReadShardsAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT shard_id, range_id, owner, lease_until FROM shards ORDER BY shard_id;", connection);
        return await RowsAsync(cmd, reader => new ShardRecord(
            reader.GetInt32(0),
            reader.GetInt64(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            new DateTime(reader.GetInt64(3), DateTimeKind.Utc)), cancellationToken).ConfigureAwait(false);
    }, cancellationToken);
}
