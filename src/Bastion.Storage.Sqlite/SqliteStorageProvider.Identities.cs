using Microsoft.Data.Sqlite;

namespace Bastion.Storage.Sqlite;

/// <summary>Namespace and identity records: plain rows (their data encoded above), written by transitions.</summary>
public sealed partial class SqliteStorageProvider
{
    public Task<IReadOnlyList<IdentityRecord>> ListIdentitiesAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<IdentityRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT kind, id, account, data FROM identities ORDER BY kind, id;";
        using var reader = cmd.ExecuteReader();
        var result = new List<IdentityRecord>();
        while (reader.Read())
        {
            result.Add(new IdentityRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader[3]));
        }

        return result;
    }, cancellationToken);

    /// <summary>A namespace record written or removed by a transition.</summary>
    private void ApplyNamespace(SqliteTransaction tx, NamespaceWrite write)
    {
        var record = write.Record;
        var cmd = Command(tx, write.Deletes
            ? "DELETE FROM namespaces WHERE id = $id;"
            : """
              INSERT INTO namespaces (id, name, account, data) VALUES ($id, $name, $account, $data)
              ON CONFLICT (id) DO UPDATE SET name = excluded.name, account = excluded.account, data = excluded.data;
              """);
        cmd.Parameters.AddWithValue("$id", record.Id);
        if (!write.Deletes)
        {
            cmd.Parameters.AddWithValue("$name", record.Name);
            cmd.Parameters.AddWithValue("$account", record.Account);
            cmd.Parameters.AddWithValue("$data", record.Data);
        }

        cmd.ExecuteNonQuery();
        if (write.Deletes)
        {
            RecordPurge(tx, write);
        }
    }

    /// <summary>An identity record written or removed by a transition.</summary>
    private void ApplyIdentity(SqliteTransaction tx, IdentityWrite write)
    {
        var record = write.Record;
        var cmd = Command(tx, write.Deletes
            ? "DELETE FROM identities WHERE kind = $kind AND id = $id;"
            : """
              INSERT INTO identities (kind, id, account, data) VALUES ($kind, $id, $account, $data)
              ON CONFLICT (kind, id) DO UPDATE SET account = excluded.account, data = excluded.data;
              """);
        cmd.Parameters.AddWithValue("$kind", record.Kind);
        cmd.Parameters.AddWithValue("$id", record.Id);
        if (!write.Deletes)
        {
            cmd.Parameters.AddWithValue("$account", record.Account);
            cmd.Parameters.AddWithValue("$data", record.Data);
        }

        cmd.ExecuteNonQuery();
    }
}
