using Bastion.Storage.Encryption;

namespace Bastion.Storage.Sqlite;

public sealed partial class SqliteStorageProvider
{
    public Task<string> EnsureClusterSettingAsync(string key, string valueForNew, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var insert = _writer.CreateCommand();
            insert.CommandText = "INSERT OR IGNORE INTO cluster_metadata (key, value) VALUES ($key, $value);";
            insert.Parameters.AddWithValue("$key", key);
            insert.Parameters.AddWithValue("$value", valueForNew);
            insert.ExecuteNonQuery();
            using var read = _writer.CreateCommand();
            read.CommandText = "SELECT value FROM cluster_metadata WHERE key = $key;";
            read.Parameters.AddWithValue("$key", key);
            return (string)read.ExecuteScalar()!;
        }, cancellationToken);
    }

    /// <summary>A cluster-wide setting as stored, null when absent (for offline tools, which must not choose one).</summary>
    public Task<string?> ReadClusterSettingAsync(string key, CancellationToken cancellationToken) => ReadAsync(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT value FROM cluster_metadata WHERE key = $key;";
        cmd.Parameters.AddWithValue("$key", key);
        return cmd.ExecuteScalar() as string;
    }, cancellationToken);

    public Task<IReadOnlyList<DataKeyRecord>> ListDataKeysAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<DataKeyRecord>>(connection =>
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT namespace_id, version, wrapped, retired FROM data_keys ORDER BY namespace_id, version;";
        using var reader = cmd.ExecuteReader();
        var result = new List<DataKeyRecord>();
        while (reader.Read())
        {
            result.Add(new DataKeyRecord(reader.GetString(0), reader.GetInt32(1), (byte[])reader[2], reader.GetInt64(3) != 0));
        }

        return result;
    }, cancellationToken);

    public Task<bool> AddDataKeyAsync(DataKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "INSERT OR IGNORE INTO data_keys (namespace_id, version, wrapped, retired) VALUES ($ns, $version, $wrapped, $retired);";
            cmd.Parameters.AddWithValue("$ns", key.NamespaceId);
            cmd.Parameters.AddWithValue("$version", key.Version);
            cmd.Parameters.AddWithValue("$wrapped", key.Wrapped);
            cmd.Parameters.AddWithValue("$retired", key.Retired ? 1 : 0);
            return cmd.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }

    public Task RetireDataKeyAsync(string namespaceId, int version, CancellationToken cancellationToken)
    {
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = "UPDATE data_keys SET retired = 1, wrapped = x'' WHERE namespace_id = $ns AND version = $version;";
            cmd.Parameters.AddWithValue("$ns", namespaceId);
            cmd.Parameters.AddWithValue("$version", version);
            cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<StoredRecord>> ScanRecordsAsync(string table, string namespaceId, long afterPosition, int limit, CancellationToken cancellationToken)
    {
        var (name, column, keySql, namespaceSql, _) = EncodedColumns.Of(table);
        return ReadAsync<IReadOnlyList<StoredRecord>>(connection =>
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"""
                SELECT rowid, {keySql}, {column} FROM {name}
                WHERE {namespaceSql} = $ns AND rowid > $after AND {column} IS NOT NULL ORDER BY rowid LIMIT $limit;
                """;
            cmd.Parameters.AddWithValue("$ns", namespaceId);
            cmd.Parameters.AddWithValue("$after", afterPosition);
            cmd.Parameters.AddWithValue("$limit", limit);
            using var reader = cmd.ExecuteReader();
            var result = new List<StoredRecord>();
            while (reader.Read())
            {
                var value = reader[2] as byte[] ?? System.Text.Encoding.UTF8.GetBytes(reader.GetString(2));
                result.Add(new StoredRecord(table, namespaceId, reader.GetString(1), reader.GetInt64(0), value));
            }

            return result;
        }, cancellationToken);
    }

    public Task<bool> ReplaceRecordAsync(StoredRecord record, byte[] newValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(newValue);
        var (name, column, _, namespaceSql, text) = EncodedColumns.Of(record.Table);
        return WriteAsync(() =>
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = $"UPDATE {name} SET {column} = $new WHERE rowid = $position AND {namespaceSql} = $ns AND {column} = $old;";
            cmd.Parameters.AddWithValue("$new", text ? System.Text.Encoding.UTF8.GetString(newValue) : newValue);
            cmd.Parameters.AddWithValue("$old", text ? System.Text.Encoding.UTF8.GetString(record.Value) : record.Value);
            cmd.Parameters.AddWithValue("$position", record.Position);
            cmd.Parameters.AddWithValue("$ns", record.NamespaceId);
            return cmd.ExecuteNonQuery() == 1;
        }, cancellationToken);
    }
}
