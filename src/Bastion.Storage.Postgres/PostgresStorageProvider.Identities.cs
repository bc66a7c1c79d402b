using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Namespace and identity records: plain rows (their data encoded above), written by transitions.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<IReadOnlyList<NamespaceRecord>> ListNamespacesAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT id, name, account, data FROM namespaces ORDER BY account, name;", connection);
        return await RowsAsync(cmd, r => new NamespaceRecord(r.GetString(0), r.GetString(1), r.GetString(2), (byte[])r[3]), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    public Task<IReadOnlyList<IdentityRecord>> ListIdentitiesAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT kind, id, account, data FROM identities ORDER BY kind, id;", connection);
        return await RowsAsync(cmd, r => new IdentityRecord(r.GetString(0), r.GetString(1), r.GetString(2), (byte[])r[3]), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    private static void ApplyNamespace(PostgresCommitPlan plan, NamespaceWrite write)
    {
        var record = write.Record;
        if (write.Deletes)
        {
            plan.Add("DELETE FROM namespaces WHERE id = @id;").With("id", record.Id);
            RecordPurge(plan, write);
            return;
        }

        plan.Add("""
            INSERT INTO namespaces (id, name, account, data) VALUES (@id, @name, @account, @data)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, account = excluded.account, data = excluded.data;
            """).With("id", record.Id).With("name", record.Name).With("account", record.Account).With("data", record.Data);
    }

    private static void ApplyIdentity(PostgresCommitPlan plan, IdentityWrite write)
    {
        var record = write.Record;
        if (write.Deletes)
        {
            plan.Add("DELETE FROM identities WHERE kind = @kind AND id = @id;").With("kind", record.Kind).With("id", record.Id);
            return;
        }

        plan.Add("""
            INSERT INTO identities (kind, id, account, data) VALUES (@kind, @id, @account, @data)
            ON CONFLICT (kind, id) DO UPDATE SET account = excluded.account, data = excluded.data;
            """).With("kind", record.Kind).With("id", record.Id).With("account", record.Account).With("data", record.Data);
    }
}
