using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>The cluster's node rows: each node upserts its own on every heartbeat; everyone reads them all.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<DateTime?> HeartbeatAsync(ClusterNode node, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        return ReadAsync<DateTime?>(async connection =>
        {
            await using var cmd = new NpgsqlCommand("""
                INSERT INTO cluster_nodes (node_id, address, started_at, lease_until, protocol_oldest, protocol_newest, heartbeat_at)
                VALUES (@id, @address, @started, @until, @oldest, @newest, (extract(epoch FROM clock_timestamp()) * 10000000)::bigint + 621355968000000000)
                ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at, lease_until = excluded.lease_until,
                    protocol_oldest = excluded.protocol_oldest, protocol_newest = excluded.protocol_newest, heartbeat_at = excluded.heartbeat_at
                RETURNING heartbeat_at;
                """, connection);
            cmd.Parameters.AddWithValue("id", node.NodeId);
            cmd.Parameters.AddWithValue("address", node.Address);
            cmd.Parameters.AddWithValue("started", node.StartedAt.Ticks);
            cmd.Parameters.AddWithValue("until", leaseUntil.Ticks);
            cmd.Parameters.AddWithValue("oldest", (int)node.ProtocolOldest);
            cmd.Parameters.AddWithValue("newest", (int)node.ProtocolNewest);
            return Utc((long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
        }, cancellationToken);
    }

    public Task LeaveAsync(string nodeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("DELETE FROM cluster_nodes WHERE node_id = @id;", connection);
            cmd.Parameters.AddWithValue("id", nodeId);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ClusterNodeRecord>> ReadNodesAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT node_id, address, started_at, lease_until, protocol_oldest, protocol_newest, heartbeat_at FROM cluster_nodes ORDER BY node_id COLLATE \"C\";", connection);
        return await RowsAsync(cmd, reader => new ClusterNodeRecord(
            new ClusterNode(reader.GetString(0), reader.GetString(1), new DateTime(reader.GetInt64(2), DateTimeKind.Utc), checked((byte)reader.GetInt32(4)), checked((byte)reader.GetInt32(5))),
            new DateTime(reader.GetInt64(3), DateTimeKind.Utc)) { HeartbeatAt = reader.IsDBNull(6) ? null : Utc(reader.GetInt64(6)) }, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);
}
