using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>Nexus endpoints: versioned rows written by transitions (compare-and-swap on the version).</summary>
public sealed partial class SqliteStorageProvider
{
    public Task<IReadOnlyList<NexusEndpointRecord>> ListNexusEndpointsAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<NexusEndpointRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id, account, name, version, data FROM nexus_endpoints ORDER BY account, name;";
        using var reader = cmd.ExecuteReader();
        var result = new List<NexusEndpointRecord>();
        while (reader.Read())
        {
            result.Add(new NexusEndpointRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), (byte[])reader[4]));
        }

        return result;
    }, cancellationToken);

    private void ApplyNexusEndpoint(SqliteTransaction tx, NexusEndpointWrite write)
    {
        var record = write.Record;
        var cmd = Command(tx, write.ExpectedVersion == 0
            ? "INSERT OR IGNORE INTO nexus_endpoints (id, account, name, version, data) VALUES ($id, $account, $name, $version, $data);"
            : write.Deletes
                ? "DELETE FROM nexus_endpoints WHERE id = $id AND version = $expected;"
                : "UPDATE OR IGNORE nexus_endpoints SET name = $name, version = $version, data = $data WHERE id = $id AND version = $expected;");
        cmd.Parameters.AddWithValue("$id", record.Id);
        cmd.Parameters.AddWithValue("$account", record.Account);
        cmd.Parameters.AddWithValue("$name", record.Name);
        cmd.Parameters.AddWithValue("$version", record.Version);
        cmd.Parameters.AddWithValue("$data", record.Data);
        cmd.Parameters.AddWithValue("$expected", write.ExpectedVersion);
        if (cmd.ExecuteNonQuery() != 1)
        {
            // OR IGNORE: a name taken in the account (or an id taken) changes no row, as a stale version does.
            throw new ConditionFailedException($"Nexus endpoint {record.Id} ({record.Name}) changed since version {write.ExpectedVersion}, or its name is taken.");
        }
    }
}
