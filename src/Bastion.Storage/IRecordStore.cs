namespace Bastion.Storage;

/// <summary>Encoded records of every kind, walked and rewritten by re-encryption after a key rotation.</summary>
public interface IRecordStore
{
    /// <summary>
    /// Encoded records of one kind (<see cref="StoredRecord.Table"/>: the tables of <see cref="RecordIdentities"/>)
    /// of a namespace after a cursor, in a stable order.
    /// </summary>
    Task<IReadOnlyList<StoredRecord>> ScanRecordsAsync(string table, string namespaceId, long afterPosition, int limit, CancellationToken cancellationToken);

    /// <summary>Replaces a record's encoding if it is still <see cref="StoredRecord.Value"/>; false when it changed or went away.</summary>
    Task<bool> ReplaceRecordAsync(StoredRecord record, byte[] newValue, CancellationToken cancellationToken);
}

/// <summary>
/// One encoded value as stored: its identity key (as <see cref="RecordIdentities"/> builds it), a dialect cursor,
/// and its bytes (for a text column, the UTF-8 of the text).
/// </summary>
public sealed record StoredRecord(string Table, string NamespaceId, string Key, long Position, byte[] Value);
