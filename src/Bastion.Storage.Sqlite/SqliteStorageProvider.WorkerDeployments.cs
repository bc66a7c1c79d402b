using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>Worker deployments: versioned rows written by transitions (compare-and-swap on the version).</summary>
public sealed partial class SqliteStorageProvider
{
    public Task<IReadOnlyList<WorkerDeploymentRecord>> ListWorkerDeploymentsAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<WorkerDeploymentRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT namespace_id, name_key, version, data FROM worker_deployments ORDER BY namespace_id, name_key;";
        using var reader = cmd.ExecuteReader();
        var result = new List<WorkerDeploymentRecord>();
        while (reader.Read())
        {
            result.Add(new WorkerDeploymentRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), (byte[])reader[3]));
        }

        return result;
    }, cancellationToken);

    private void ApplyWorkerDeployment(SqliteTransaction tx, WorkerDeploymentWrite write)
    {
        var record = write.Record;
        var cmd = Command(tx, write.ExpectedVersion == 0
            ? "INSERT OR IGNORE INTO worker_deployments (namespace_id, name_key, version, data) VALUES ($ns, $key, $version, $data);"
            : write.Deletes
                ? "DELETE FROM worker_deployments WHERE namespace_id = $ns AND name_key = $key AND version = $expected;"
                : "UPDATE worker_deployments SET version = $version, data = $data WHERE namespace_id = $ns AND name_key = $key AND version = $expected;");
        cmd.Parameters.AddWithValue("$ns", record.NamespaceId);
        cmd.Parameters.AddWithValue("$key", record.Key);
        cmd.Parameters.AddWithValue("$version", record.Version);
        cmd.Parameters.AddWithValue("$data", record.Data);
        cmd.Parameters.AddWithValue("$expected", write.ExpectedVersion);
        if (cmd.ExecuteNonQuery() != 1)
        {
            throw new ConditionFailedException($"Worker deployment {record.Key} of namespace {record.NamespaceId} changed since version {write.ExpectedVersion}.");
        }
    }
}
