using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Bastion.Storage.Encryption;

/// <summary>
/// Every namespace's keys, unwrapped once and kept in memory. A namespace gets its keys on first use; new
/// versions made by another process (<c>bastion keys rotate</c>) are picked up by <see cref="RefreshAsync"/>, or at
/// once when a record names a version not seen yet.
/// </summary>
/// <remarks>
/// The record codec is synchronous (it runs inside encoding and decoding), so the two rare misses it can hit — a
/// namespace's first use, a version not seen yet — wait for the store there. Everything else is asynchronous.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync and Wait are used).")]
public sealed class KeyRing
{
    public const int IndexKeyVersion = 0;
    private readonly IMetadataStore _store;
    private readonly MasterKey _master;
    private readonly ConcurrentDictionary<string, NamespaceKeys> _namespaces = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loadLock = new(1, 1);

    public KeyRing(IMetadataStore store, MasterKey master)
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

        RefreshAsync(CancellationToken.None).GetAwaiter().GetResult();
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
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _loadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var group in (await _store.ListDataKeysAsync(cancellationToken).ConfigureAwait(false)).GroupBy(k => k.NamespaceId, StringComparer.Ordinal))
            {
                if (!IsComplete(group))
                {
                    continue; // another process is creating this namespace's keys right now; its first use here finishes them
                }

                _namespaces.TryGetValue(group.Key, out var known);
                _namespaces[group.Key] = Build(group.Key, group, known);
            }
        }
        finally
        {
            _loadLock.Release();
        }
    }

    /// <summary>Makes a new data key version current for the namespace; returns it. Writes use it once a server refreshes.</summary>
    public async Task<int> RotateAsync(string namespaceId, CancellationToken cancellationToken)
    {
        await EnsureAsync(namespaceId, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var next = (await StoredAsync(namespaceId, cancellationToken).ConfigureAwait(false)).Max(k => k.Version) + 1;
            if (await _store.AddDataKeyAsync(NewKey(namespaceId, next), cancellationToken).ConfigureAwait(false))
            {
                await RefreshAsync(cancellationToken).ConfigureAwait(false);
                return next;
            }
        }
    }

    /// <summary>Erases a data key that no record uses any more; the current key is never retired.</summary>
    public async Task RetireAsync(string namespaceId, int version, CancellationToken cancellationToken)
    {
        await EnsureAsync(namespaceId, cancellationToken).ConfigureAwait(false);
        await _loadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (version == IndexKeyVersion || version == _namespaces[namespaceId].Current)
            {
                throw new InvalidOperationException($"Key {version} of namespace {namespaceId} is in use and cannot be retired.");
            }

            await _store.RetireDataKeyAsync(namespaceId, version, cancellationToken).ConfigureAwait(false);
            _namespaces.TryGetValue(namespaceId, out var known);
            _namespaces[namespaceId] = Build(namespaceId, await StoredAsync(namespaceId, cancellationToken).ConfigureAwait(false), known);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    /// <summary>Makes sure the namespace has keys (creating them on first use), so the codec finds them without waiting.</summary>
    public async Task EnsureAsync(string namespaceId, CancellationToken cancellationToken)
    {
        if (_namespaces.ContainsKey(namespaceId))
        {
            return;
        }

        await _loadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_namespaces.ContainsKey(namespaceId))
            {
                return;
            }

            var stored = await StoredAsync(namespaceId, cancellationToken).ConfigureAwait(false);
            if (!IsComplete(stored))
            {
                // Another process may be creating them at this moment (and may have written only the index key so far):
                // each missing key is inserted, inserts that lose are ignored, and both read back the winners.
                if (!stored.Any(k => k.Version == IndexKeyVersion))
                {
                    await _store.AddDataKeyAsync(NewKey(namespaceId, IndexKeyVersion), cancellationToken).ConfigureAwait(false);
                }

                if (!stored.Any(k => k.Version != IndexKeyVersion))
                {
                    await _store.AddDataKeyAsync(NewKey(namespaceId, 1), cancellationToken).ConfigureAwait(false);
                }

                stored = await StoredAsync(namespaceId, cancellationToken).ConfigureAwait(false);
            }

            _namespaces[namespaceId] = Build(namespaceId, stored, known: null);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    private NamespaceKeys Keys(string namespaceId)
    {
        if (!_namespaces.TryGetValue(namespaceId, out var keys))
        {
            EnsureAsync(namespaceId, CancellationToken.None).GetAwaiter().GetResult();
            keys = _namespaces[namespaceId];
        }

        return keys;
    }

    /// <summary>True when stored keys hold an index key and a data key in use.</summary>
    private static bool IsComplete(IEnumerable<DataKeyRecord> stored) =>
        stored.Any(k => k.Version == IndexKeyVersion && !k.Retired) && stored.Any(k => k.Version != IndexKeyVersion && !k.Retired);

    private async Task<List<DataKeyRecord>> StoredAsync(string namespaceId, CancellationToken cancellationToken) =>
        [.. (await _store.ListDataKeysAsync(cancellationToken).ConfigureAwait(false)).Where(k => k.NamespaceId == namespaceId)];

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
