using System.Text;
using Bastion.Storage.Encryption;
using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>Cluster settings, wrapped data keys, and re-encryption's scan and compare-and-swap over <see cref="EncodedColumns"/>.</summary>
public sealed partial class PostgresStorageProvider
{
    public Task<string> EnsureClusterSettingAsync(string key, string valueForNew, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO cluster_metadata (key, value) VALUES (@key, @value) ON CONFLICT (key) DO NOTHING;
            SELECT value FROM cluster_metadata WHERE key = @key;
            """, connection);
        cmd.Parameters.AddWithValue("key", key);
        cmd.Parameters.AddWithValue("value", valueForNew);
        return (string)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }, cancellationToken);

    public Task<string?> ReadClusterSettingAsync(string key, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT value FROM cluster_metadata WHERE key = @key;", connection);
        cmd.Parameters.AddWithValue("key", key);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }, cancellationToken);

    public Task<IReadOnlyList<DataKeyRecord>> ListDataKeysAsync(CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand("SELECT namespace_id, version, wrapped, retired FROM data_keys ORDER BY namespace_id, version;", connection);
        return await RowsAsync(cmd, r => new DataKeyRecord(r.GetString(0), r.GetInt32(1), (byte[])r[2], r.GetBoolean(3)), cancellationToken)
            .ConfigureAwait(false);
    }, cancellationToken);

    public Task<bool> AddDataKeyAsync(DataKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand("""
                INSERT INTO data_keys (namespace_id, version, wrapped, retired) VALUES (@ns, @version, @wrapped, @retired)
                ON CONFLICT DO NOTHING;
                """, connection);
            cmd.Parameters.AddWithValue("ns", key.NamespaceId);
            cmd.Parameters.AddWithValue("version", key.Version);
            cmd.Parameters.AddWithValue("wrapped", key.Wrapped);
            cmd.Parameters.AddWithValue("retired", key.Retired);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    public Task RetireDataKeyAsync(string namespaceId, int version, CancellationToken cancellationToken) => ReadAsync(async connection =>
    {
        await using var cmd = new NpgsqlCommand(
            "UPDATE data_keys SET retired = true, wrapped = ''::bytea WHERE namespace_id = @ns AND version = @version;", connection);
        cmd.Parameters.AddWithValue("ns", namespaceId);
        cmd.Parameters.AddWithValue("version", version);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    /// <summary>Pages through the identity column <c>pos</c> (the audit log: its sequence), which no update changes.</summary>
    public Task<IReadOnlyList<StoredRecord>> ScanRecordsAsync(string table, string namespaceId, long afterPosition, int limit, CancellationToken cancellationToken)
    {
        var column = EncodedColumns.Of(table);
        var position = Position(column);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand($"""
                SELECT {position}, {column.KeySql}, {column.Column} FROM {column.Table}
                WHERE {column.NamespaceSql} = @ns AND {position} > @after AND {column.Column} IS NOT NULL
                ORDER BY {position} LIMIT @limit;
                """, connection);
            cmd.Parameters.AddWithValue("ns", namespaceId);
            cmd.Parameters.AddWithValue("after", afterPosition);
            cmd.Parameters.AddWithValue("limit", limit);
            return await RowsAsync(cmd, r => new StoredRecord(
                table, namespaceId, r.GetString(1), r.GetInt64(0), column.IsText ? Encoding.UTF8.GetBytes(r.GetString(2)) : (byte[])r[2]), cancellationToken)
                .ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<bool> ReplaceRecordAsync(StoredRecord record, byte[] newValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(newValue);
        var column = EncodedColumns.Of(record.Table);
        return ReadAsync(async connection =>
        {
            await using var cmd = new NpgsqlCommand($"""
                UPDATE {column.Table} SET {column.Column} = @new
                WHERE {Position(column)} = @position AND {column.NamespaceSql} = @ns AND {column.Column} = @old;
                """, connection);
            cmd.Parameters.AddWithValue("new", column.IsText ? Encoding.UTF8.GetString(newValue) : newValue);
            cmd.Parameters.AddWithValue("old", column.IsText ? Encoding.UTF8.GetString(record.Value) : record.Value);
            cmd.Parameters.AddWithValue("position", record.Position);
            cmd.Parameters.AddWithValue("ns", record.NamespaceId);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    private static string Position(EncodedColumn column) => column.Table == "audit_log" ? "seq" : "pos";
}
