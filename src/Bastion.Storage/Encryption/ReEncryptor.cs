using System.Text;

namespace Bastion.Storage.Encryption;

/// <summary>
/// After a rotation, moves every record of a namespace to its current key, in the background and without locks:
/// each record is replaced only if it is unchanged since it was read (a write that raced it already used the new
/// key). An old version is retired once two passes in a row find no record using it: the second pass covers a
/// write encoded just before the rotation became visible and committed just after the first pass looked.
/// </summary>
public sealed class ReEncryptor
{
    private const int BatchSize = 256;
    private static readonly string[] Tables = ["executions", "history", "tasks.workflow_id", "tasks.task_queue", "visibility", "schedules", "batch_operations", "audit_log"];
    private readonly IExecutionStore _store;
    private readonly KeyRing _keys;
    private readonly AesGcmRecordCodec _codec;
    private readonly Dictionary<string, int> _cleanPasses = new(StringComparer.Ordinal);

    public ReEncryptor(IExecutionStore store, KeyRing keys, AesGcmRecordCodec codec)
    {
        _store = store;
        _keys = keys;
        _codec = codec;
    }

    /// <summary>One pass over every namespace with more than one key version; returns the records moved and the versions retired.</summary>
    public (int Moved, int Retired) RunPass()
    {
        _keys.Refresh();
        var moved = 0;
        var retired = 0;
        foreach (var namespaceId in _keys.Namespaces)
        {
            var versions = _keys.Versions(namespaceId);
            if (versions.Count < 2)
            {
                _cleanPasses.Remove(namespaceId);
                continue;
            }

            var current = versions[^1];
            var (found, rewritten) = MoveNamespace(namespaceId, current);
            moved += rewritten;
            _cleanPasses[namespaceId] = found == 0 ? _cleanPasses.GetValueOrDefault(namespaceId) + 1 : 0;
            if (_cleanPasses[namespaceId] >= 2)
            {
                foreach (var old in versions.Take(versions.Count - 1))
                {
                    _keys.Retire(namespaceId, old);
                    retired++;
                }

                _cleanPasses.Remove(namespaceId);
            }
        }

        return (moved, retired);
    }

    /// <summary>How many records of <paramref name="namespaceId"/> use another key than <paramref name="current"/>.</summary>
    public int CountOld(string namespaceId, int current) =>
        Tables.Sum(table => Scan(table, namespaceId).Count(r => VersionOf(r) != current));

    private (int Found, int Rewritten) MoveNamespace(string namespaceId, int current)
    {
        var found = 0;
        var rewritten = 0;
        foreach (var table in Tables)
        {
            foreach (var record in Scan(table, namespaceId))
            {
                if (VersionOf(record) == current)
                {
                    continue;
                }

                found++;
                // The identity is rebuilt from what the store returns: RecordIdentities names tables and keys the same way.
                var identity = new RecordIdentity(record.NamespaceId, record.Table, record.Key);
                var value = IsText(table)
                    ? Encoding.UTF8.GetBytes(_codec.EncodeText(identity, _codec.DecodeText(identity, Encoding.UTF8.GetString(record.Value))))
                    : _codec.Encode(identity, _codec.Decode(identity, record.Value));
                if (_store.ReplaceRecord(record, value))
                {
                    rewritten++;
                }
            }
        }

        return (found, rewritten);
    }

    private IEnumerable<StoredRecord> Scan(string table, string namespaceId)
    {
        var after = 0L;
        while (true)
        {
            var batch = _store.ScanRecords(table, namespaceId, after, BatchSize);
            foreach (var record in batch)
            {
                yield return record;
            }

            if (batch.Count < BatchSize)
            {
                yield break;
            }

            after = batch[^1].Position;
        }
    }

    private static bool IsText(string table) => table.StartsWith("tasks.", StringComparison.Ordinal);

    private static int? VersionOf(StoredRecord record)
    {
        if (!IsText(record.Table))
        {
            return AesGcmRecordCodec.VersionOf(record.Value);
        }

        try
        {
            return AesGcmRecordCodec.VersionOf(Convert.FromBase64String(Encoding.UTF8.GetString(record.Value)));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
