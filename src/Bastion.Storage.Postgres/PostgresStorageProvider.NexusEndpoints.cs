using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Nexus endpoints: versioned rows written by transitions (compare-and-swap on the version).</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<IReadOnlyList<NexusEndpointRecord>> ListNexusEndpointsAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT id, account, name, version, data FROM nexus_endpoints ORDER BY account, name;", connection);
        return await RowsAsync(cmd, r => new NexusEndpointRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), (byte[])r[4]), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    private static void ApplyNexusEndpoint(PostgresCommitPlan plan, NexusEndpointWrite write)
    {
        var record = write.Record;
        var rejection = $"Nexus endpoint {record.Id} ({record.Name}) changed since version {write.ExpectedVersion}, or its name is taken.";
        if (write.ExpectedVersion == 0)
        {
            plan.Add("INSERT INTO nexus_endpoints (id, account, name, version, data) VALUES (@id, @account, @name, @version, @data) ON CONFLICT DO NOTHING;", rejection)
                .With("id", record.Id).With("account", record.Account).With("name", record.Name).With("version", record.Version).With("data", record.Data);
        }
        else if (write.Deletes)
        {
            plan.Add("DELETE FROM nexus_endpoints WHERE id = @id AND version = @expected;", rejection)
                .With("id", record.Id).With("expected", write.ExpectedVersion);
        }
        else
        {
            // A rename onto a name taken in the account must reject, not abort the transaction: the name is checked in the statement.
            plan.Add("""
                UPDATE nexus_endpoints SET name = @name, version = @version, data = @data
                WHERE id = @id AND version = @expected
                  AND NOT EXISTS (SELECT 1 FROM nexus_endpoints o WHERE o.account = nexus_endpoints.account AND o.name = @name AND o.id <> @id);
                """, rejection)
                .With("id", record.Id).With("name", record.Name).With("version", record.Version).With("data", record.Data).With("expected", write.ExpectedVersion);
        }
    }
}
