namespace Bastion.Storage.Sqlite;

/// <summary>Identity records and namespace removal: plain rows, written by the one writer connection.</summary>
public sealed partial class SqliteExecutionStore : IIdentityStore
{
    public IReadOnlyList<IdentityRecord> ListIdentities() => Read(connection =>
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
    });

    public void UpsertIdentity(IdentityRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_writerLock)
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = """
                INSERT INTO identities (kind, id, account, data) VALUES ($kind, $id, $account, $data)
                ON CONFLICT (kind, id) DO UPDATE SET account = excluded.account, data = excluded.data;
                """;
            cmd.Parameters.AddWithValue("$kind", record.Kind);
            cmd.Parameters.AddWithValue("$id", record.Id);
            cmd.Parameters.AddWithValue("$account", record.Account);
            cmd.Parameters.AddWithValue("$data", record.Data);
            cmd.ExecuteNonQuery();
        }
    }

    public void DeleteIdentity(string kind, string id) => DeleteRow("DELETE FROM identities WHERE kind = $kind AND id = $id;", ("$kind", kind), ("$id", id));

    public void DeleteNamespace(string id) => DeleteRow("DELETE FROM namespaces WHERE id = $id;", ("$id", id));

    private void DeleteRow(string sql, params (string Name, string Value)[] parameters)
    {
        lock (_writerLock)
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                cmd.Parameters.AddWithValue(name, value);
            }

            cmd.ExecuteNonQuery();
        }
    }
}
