using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Bastion.Storage.Encryption;

/// <summary>
/// Every namespace's keys, unwrapped once and kept in memory. A namespace gets its keys on first use; new
/// versions made by another process (<c>bastion keys rotate</c>) are picked up by <see cref="Refresh"/>, or at
/// once when a record names a version not seen yet.
/// </summary>
public sealed class KeyRing
{
    public const int IndexKeyVersion = 0;
    private readonly IExecutionStore _store;
    private readonly MasterKey _master;
    private readonly ConcurrentDictionary<string, NamespaceKeys> _namespaces = new(StringComparer.Ordinal);
    private readonly Lock _loadLock = new();

    public KeyRing(IExecutionStore store, MasterKey master)
    {
        _store = store;
        _master = master;
    }

    /// <summary>The namespace's current data key, created (with its index key) on first use.</summary>
    public (int Version, byte[] Key) Current(string namespaceId)
    {
        var keys = Keys(namespaceId);
        return (keys.Current, keys.Data[keys.Current]);
    }

    /// <summary>A data key by version; a version unknown here is looked for in the store once.</summary>
    public byte[] Get(string namespaceId, int version)
    {
        if (Keys(namespaceId).Data.TryGetValue(version, out var key))
        {
            return key;
        }

        Refresh();
        return Keys(namespaceId).Data.TryGetValue(version, out key)
            ? key
            : throw new InvalidDataException($"Key {version} of namespace {namespaceId} does not exist or was retired.");
    }

    public byte[] IndexKey(string namespaceId) => Keys(namespaceId).Index;

    /// <summary>The namespace's data key versions in use (not retired), oldest first.</summary>
    public IReadOnlyList<int> Versions(string namespaceId) => [.. Keys(namespaceId).Data.Keys.Order()];

    /// <summary>Namespaces that have keys.</summary>
    public IReadOnlyCollection<string> Namespaces => [.. _namespaces.Keys];

    /// <summary>Re-reads every key from the store (cheap: only new versions are unwrapped).</summary>
    public void Refresh()
    {
        lock (_loadLock)
        {
            foreach (var group in _store.ListDataKeys().GroupBy(k => k.NamespaceId, StringComparer.Ordinal))
            {
                _namespaces.TryGetValue(group.Key, out var known);
                _namespaces[group.Key] = Build(group.Key, group, known);
            }
        }
    }

    /// <summary>Makes a new data key version current for the namespace; returns it. Writes use it once a server refreshes.</summary>
    public int Rotate(string namespaceId)
    {
        lock (_loadLock)
        {
            Keys(namespaceId);
            while (true)
            {
                var next = _store.ListDataKeys().Where(k => k.NamespaceId == namespaceId).Max(k => k.Version) + 1;
                if (_store.AddDataKey(NewKey(namespaceId, next)))
                {
                    Refresh();
                    return next;
                }
            }
        }
    }

    /// <summary>Erases a data key that no record uses any more; the current key is never retired.</summary>
    public void Retire(string namespaceId, int version)
    {
        lock (_loadLock)
        {
            if (version == IndexKeyVersion || version == Keys(namespaceId).Current)
            {
                throw new InvalidOperationException($"Key {version} of namespace {namespaceId} is in use and cannot be retired.");
            }

            _store.RetireDataKey(namespaceId, version);
            _namespaces.TryGetValue(namespaceId, out var known);
            _namespaces[namespaceId] = Build(namespaceId, _store.ListDataKeys().Where(k => k.NamespaceId == namespaceId), known);
        }
    }

    private NamespaceKeys Keys(string namespaceId)
    {
        if (_namespaces.TryGetValue(namespaceId, out var keys))
        {
            return keys;
        }

        lock (_loadLock)
        {
            if (_namespaces.TryGetValue(namespaceId, out keys))
            {
                return keys;
            }

            var stored = _store.ListDataKeys().Where(k => k.NamespaceId == namespaceId).ToList();
            if (stored.Count == 0)
            {
                // Another process may create them at the same moment: inserts that lose are ignored, and both read back the winners.
                _store.AddDataKey(NewKey(namespaceId, IndexKeyVersion));
                _store.AddDataKey(NewKey(namespaceId, 1));
                stored = [.. _store.ListDataKeys().Where(k => k.NamespaceId == namespaceId)];
            }

            keys = Build(namespaceId, stored, known: null);
            _namespaces[namespaceId] = keys;
            return keys;
        }
    }

    private DataKeyRecord NewKey(string namespaceId, int version) =>
        new(namespaceId, version, _master.Wrap(namespaceId, version, RandomNumberGenerator.GetBytes(MasterKey.Size)), Retired: false);

    private NamespaceKeys Build(string namespaceId, IEnumerable<DataKeyRecord> stored, NamespaceKeys? known)
    {
        byte[]? index = null;
        var data = new Dictionary<int, byte[]>();
        foreach (var record in stored.Where(r => !r.Retired))
        {
            var key = known != null && (record.Version == IndexKeyVersion ? known.Index : known.Data.GetValueOrDefault(record.Version)) is { } cached
                ? cached
                : _master.Unwrap(namespaceId, record.Version, record.Wrapped);
            if (record.Version == IndexKeyVersion)
            {
                index = key;
            }
            else
            {
                data[record.Version] = key;
            }
        }

        if (index == null || data.Count == 0)
        {
            throw new InvalidDataException($"Namespace {namespaceId} has no usable keys in the store.");
        }

        return new NamespaceKeys(data.Keys.Max(), data.ToFrozenDictionary(), index);
    }

    private sealed record NamespaceKeys(int Current, FrozenDictionary<int, byte[]> Data, byte[] Index);
}
