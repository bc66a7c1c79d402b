using System.Runtime.CompilerServices;
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
    private static readonly string[] Tables = ["executions", "history", "tasks.workflow_id", "tasks.task_queue", "visibility", "schedules", "batch_operations", "worker_deployments", "task_queue_configs", "audit_log", "sealed_values"];
    private readonly IRecordStore _store;
    private readonly KeyRing _keys;
    private readonly AesGcmRecordCodec _codec;
    private readonly Dictionary<string, int> _cleanPasses = new(StringComparer.Ordinal);

    public ReEncryptor(IRecordStore store, KeyRing keys, AesGcmRecordCodec codec)
    {
        _store = store;
        _keys = keys;
        _codec = codec;
    }

    /// <summary>One pass over every namespace with more than one key version; returns the records moved and the versions retired.</summary>
    public async Task<(int Moved, int Retired)> RunPassAsync(CancellationToken cancellationToken)
    {
        await _keys.RefreshAsync(cancellationToken).ConfigureAwait(false);
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
            var (found, rewritten) = await MoveNamespaceAsync(namespaceId, current, cancellationToken).ConfigureAwait(false);
            moved += rewritten;
            _cleanPasses[namespaceId] = found == 0 ? _cleanPasses.GetValueOrDefault(namespaceId) + 1 : 0;
            if (_cleanPasses[namespaceId] >= 2)
            {
                foreach (var old in versions.Take(versions.Count - 1))
                {
                    await _keys.RetireAsync(namespaceId, old, cancellationToken).ConfigureAwait(false);
                    retired++;
                }

                _cleanPasses.Remove(namespaceId);
            }
        }

        return (moved, retired);
    }

    /// <summary>How many records of <paramref name="namespaceId"/> use another key than <paramref name="current"/>.</summary>
    public async Task<int> CountOldAsync(string namespaceId, int current, CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var table in Tables)
        {
            await foreach (var record in ScanAsync(table, namespaceId, cancellationToken).ConfigureAwait(false))
            {
                count += VersionOf(record) != current ? 1 : 0;
            }
        }

        return count;
    }

    private async Task<(int Found, int Rewritten)> MoveNamespaceAsync(string namespaceId, int current, CancellationToken cancellationToken)
    {
        var found = 0;
        var rewritten = 0;
        foreach (var table in Tables)
        {
            await foreach (var record in ScanAsync(table, namespaceId, cancellationToken).ConfigureAwait(false))
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
                if (await _store.ReplaceRecordAsync(record, value, cancellationToken).ConfigureAwait(false))
                {
                    rewritten++;
                }
            }
        }

        return (found, rewritten);
    }

    private async IAsyncEnumerable<StoredRecord> ScanAsync(string table, string namespaceId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = 0L;
        while (true)
        {
            var batch = await _store.ScanRecordsAsync(table, namespaceId, after, BatchSize, cancellationToken).ConfigureAwait(false);
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
