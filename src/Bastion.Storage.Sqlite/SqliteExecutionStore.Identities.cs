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

    public void UpsertIdentity(IdentityRecord record, PendingAudit? audit = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        WriteIdentity(
            """
            INSERT INTO identities (kind, id, account, data) VALUES ($kind, $id, $account, $data)
            ON CONFLICT (kind, id) DO UPDATE SET account = excluded.account, data = excluded.data;
            """,
            audit,
            ("$kind", record.Kind), ("$id", record.Id), ("$account", record.Account), ("$data", record.Data));
    }

    public void DeleteIdentity(string kind, string id, PendingAudit? audit = null) =>
        WriteIdentity("DELETE FROM identities WHERE kind = $kind AND id = $id;", audit, ("$kind", kind), ("$id", id));

    public void DeleteNamespace(string id) => WriteIdentity("DELETE FROM namespaces WHERE id = $id;", null, ("$id", id));

    /// <summary>One statement and the account event it is, in one transaction.</summary>
    private void WriteIdentity(string sql, PendingAudit? audit, params (string Name, object Value)[] parameters)
    {
        lock (_writerLock)
        {
            if (audit is not null)
            {
                EnsureAuditKey();
            }

            using var tx = _writer.BeginTransaction(deferred: false);
            var cmd = Command(tx, sql);
            foreach (var (name, value) in parameters)
            {
                cmd.Parameters.AddWithValue(name, value);
            }

            cmd.ExecuteNonQuery();
            if (audit is not null)
            {
                InsertAudit(tx, [audit]);
            }

            tx.Commit();
        }
    }
}
