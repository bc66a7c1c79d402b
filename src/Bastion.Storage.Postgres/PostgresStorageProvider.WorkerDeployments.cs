using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Worker deployments: versioned rows written by transitions (compare-and-swap on the version).</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<IReadOnlyList<WorkerDeploymentRecord>> ListWorkerDeploymentsAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT namespace_id, name_key, version, data FROM worker_deployments ORDER BY namespace_id, name_key;", connection);
        return await RowsAsync(cmd, r => new WorkerDeploymentRecord(r.GetString(0), r.GetString(1), r.GetInt64(2), (byte[])r[3]), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    private static void ApplyWorkerDeployment(PostgresCommitPlan plan, WorkerDeploymentWrite write)
    {
        var record = write.Record;
        var rejection = $"Worker deployment {record.Key} of namespace {record.NamespaceId} changed since version {write.ExpectedVersion}.";
        if (write.ExpectedVersion == 0)
        {
            plan.Add("INSERT INTO worker_deployments (namespace_id, name_key, version, data) VALUES (@ns, @key, @version, @data) ON CONFLICT DO NOTHING;", rejection)
                .With("ns", record.NamespaceId).With("key", record.Key).With("version", record.Version).With("data", record.Data);
        }
        else if (write.Deletes)
        {
            plan.Add("DELETE FROM worker_deployments WHERE namespace_id = @ns AND name_key = @key AND version = @expected;", rejection)
                .With("ns", record.NamespaceId).With("key", record.Key).With("expected", write.ExpectedVersion);
        }
        else
        {
            plan.Add("UPDATE worker_deployments SET version = @version, data = @data WHERE namespace_id = @ns AND name_key = @key AND version = @expected;", rejection)
                .With("ns", record.NamespaceId).With("key", record.Key).With("version", record.Version).With("data", record.Data).With("expected", write.ExpectedVersion);
        }
    }
}
