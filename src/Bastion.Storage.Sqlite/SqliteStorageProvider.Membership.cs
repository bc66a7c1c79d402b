using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>The cluster's node rows (one server on a SQLite file is a cluster of one).</summary>
public sealed partial class SqliteStorageProvider
{
    /// <summary>The row; no clock of the database's own (the file is on this machine, read by its clock).</summary>
    public async Task<DateTime?> HeartbeatAsync(ClusterNode node, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        await WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = """
                INSERT INTO cluster_nodes (node_id, address, started_at, lease_until, protocol_oldest, protocol_newest) VALUES ($id, $address, $started, $until, $oldest, $newest)
                ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at, lease_until = excluded.lease_until,
                    protocol_oldest = excluded.protocol_oldest, protocol_newest = excluded.protocol_newest;
                """;
            cmd.Parameters.AddWithValue("$id", node.NodeId);
            cmd.Parameters.AddWithValue("$address", node.Address);
            cmd.Parameters.AddWithValue("$started", node.StartedAt.Ticks);
            cmd.Parameters.AddWithValue("$until", leaseUntil.Ticks);
            cmd.Parameters.AddWithValue("$oldest", (int)node.ProtocolOldest);
            cmd.Parameters.AddWithValue("$newest", (int)node.ProtocolNewest);
            cmd.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
        return null;
    }

    public Task LeaveAsync(string nodeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "DELETE FROM cluster_nodes WHERE node_id = $id;";
            cmd.Parameters.AddWithValue("$id", nodeId);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ClusterNodeRecord>> ReadNodesAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<ClusterNodeRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT node_id, address, started_at, lease_until, protocol_oldest, protocol_newest FROM cluster_nodes ORDER BY node_id;";
        using var reader = cmd.ExecuteReader();
        var result = new List<ClusterNodeRecord>();
        while (reader.Read())
        {
            result.Add(NodeOf(reader));
        }

        return result;
    }, cancellationToken);

    private static ClusterNodeRecord NodeOf(SqliteDataReader reader) => new(
        new ClusterNode(reader.GetString(0), reader.GetString(1), new DateTime(reader.GetInt64(2), DateTimeKind.Utc), checked((byte)reader.GetInt32(4)), checked((byte)reader.GetInt32(5))),
        new DateTime(reader.GetInt64(3), DateTimeKind.Utc));
}
