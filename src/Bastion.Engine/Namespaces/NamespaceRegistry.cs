using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Bastion.Engine.Errors;
using Bastion.Storage;
using Temporalio.Api.ErrorDetails.V1;

namespace Bastion.Engine.Namespaces;

/// <summary>
/// The namespaces, durable in the store and cached here. A namespace is addressed as <c>name.account</c>;
/// the dev account's namespaces (<c>local</c>) also answer to their bare name.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync is used).")]
public sealed partial class NamespaceRegistry(IStorageProvider store, GroupCommitter committer, TimeProvider time)
{
    public const string DevAccount = "local";

    private readonly ConcurrentDictionary<string, NamespaceEntry> _byName = new(StringComparer.Ordinal);

    // Ids of namespaces deleted while this process ran or whose purge was pending at start: nothing of them is written again.
    private readonly ConcurrentDictionary<string, byte> _deleted = new(StringComparer.Ordinal);

    // Store write + cache update, and store read + cache update, happen one at a time: a refresh never puts back
    // an entry older than one this process just wrote.
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        foreach (var record in await store.Metadata.ListNamespacesAsync(cancellationToken).ConfigureAwait(false))
        {
            Cache(NamespaceEntry.Deserialize(record.Data));
        }

        foreach (var purge in await store.NamespacePurges.ListNamespacePurgesAsync(cancellationToken).ConfigureAwait(false))
        {
            _deleted.TryAdd(purge.NamespaceId, 0);
        }
    }

    /// <summary>
    /// Told when a namespace is deleted — here, or found gone from the store by <see cref="RefreshAsync"/> (deleted by
    /// another node), or by the purger for a purge recorded elsewhere: what is cached of its runs must go.
    /// </summary>
    public event Action<string>? Removed;

    /// <summary>Whether the namespace with this id was deleted (its rows are being or were purged): nothing of it may be written.</summary>
    public bool IsDeleted(string namespaceId) => _deleted.ContainsKey(namespaceId);

    /// <summary>Marks a namespace id deleted (a purge read from the store); tells <see cref="Removed"/> the first time.</summary>
    public void MarkDeleted(string namespaceId)
    {
        if (_deleted.TryAdd(namespaceId, 0))
        {
            Removed?.Invoke(namespaceId);
        }
    }

    /// <summary>
    /// Re-reads every namespace from the store: picks up namespaces created or changed by another process on the
    /// same database (the <c>bastion namespace</c> commands). Returns the entries that are new or changed.
    /// </summary>
    public async Task<IReadOnlyList<NamespaceEntry>> RefreshAsync(CancellationToken cancellationToken)
    {
        var changed = new List<NamespaceEntry>();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stored = await store.Metadata.ListNamespacesAsync(cancellationToken).ConfigureAwait(false);
            foreach (var record in stored)
            {
                if (_byName.TryGetValue($"{record.Name}.{record.Account}", out var cached) && cached.Serialize().AsSpan().SequenceEqual(record.Data))
                {
                    continue;
                }

                var entry = NamespaceEntry.Deserialize(record.Data);
                Cache(entry);
                changed.Add(entry);
            }

            // Deleted elsewhere: gone from the store, so gone from here.
            var ids = stored.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _byName.Values.Where(e => !ids.Contains(e.Id)).Distinct().ToList())
            {
                Uncache(gone);
                MarkDeleted(gone.Id);
            }
        }
        finally
        {
            _writeLock.Release();
        }

        return changed;
    }

    public IReadOnlyCollection<NamespaceEntry> All => _byName.Values.Distinct().OrderBy(n => n.FullName, StringComparer.Ordinal).ToList();

    /// <summary>Registers a namespace unless it exists; returns it either way.</summary>
    public async Task<NamespaceEntry> EnsureAsync(string name, string account, TimeSpan retention)
    {
        CheckName(name);
        CheckName(account, "Account");
        return _byName.TryGetValue($"{name}.{account}", out var existing) ? existing : await AddAsync(name, account, retention, null).ConfigureAwait(false);
    }

    /// <summary>Registers a new namespace; ALREADY_EXISTS if it exists. The TLS policy must have been validated.</summary>
    public Task<NamespaceEntry> CreateAsync(string name, string account, TimeSpan retention, NamespaceTlsPolicy? tls, Func<NamespaceEntry, NamespaceEntry>? details = null)
    {
        CheckName(name);
        CheckName(account, "Account");
        return _byName.ContainsKey($"{name}.{account}")
            ? throw new ServiceException(ErrorKind.AlreadyExists, $"Namespace {name}.{account} already exists.", new NamespaceAlreadyExistsFailure())
            : AddAsync(name, account, retention, tls, details);
    }

    /// <summary>Replaces a namespace's TLS policy (already validated), durably; returns the new entry.</summary>
    public Task<NamespaceEntry> SetTlsAsync(NamespaceEntry entry, NamespaceTlsPolicy? tls)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return UpdateAsync(entry with { Tls = tls });
    }

    /// <summary>Replaces the namespace's codec-server setting (null removes it), validated first.</summary>
    public Task<NamespaceEntry> SetCodecServerAsync(NamespaceEntry entry, NamespaceCodecServer? codecServer)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return UpdateAsync(entry with { CodecServer = codecServer is null ? null : CodecServerEndpoints.Validate(codecServer) });
    }

    /// <summary>
    /// Stores a changed namespace (same id, name and account), durably, with its version bumped; returns it. With
    /// <paramref name="expectedVersion"/>, a namespace changed since the caller read it is FAILED_PRECONDITION.
    /// </summary>
    public async Task<NamespaceEntry> UpdateAsync(NamespaceEntry updated, long? expectedVersion = null)
    {
        ArgumentNullException.ThrowIfNull(updated);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = _byName.GetValueOrDefault(updated.FullName);
            if (current is null || current.Id != updated.Id)
            {
                throw NotFound(updated.FullName);
            }

            if (expectedVersion is { } expected && expected != current.Version)
            {
                throw new ServiceException(
                    ErrorKind.FailedPrecondition,
                    $"Namespace {updated.FullName} changed since resource version {expected} was read (now {current.Version}); read it again.");
            }

            updated = updated with { Version = current.Version + 1, LastModifiedTime = time.GetUtcNow().UtcDateTime };
            await WriteAsync(new NamespaceWrite(Record(updated))).ConfigureAwait(false);
            Cache(updated);
        }
        finally
        {
            _writeLock.Release();
        }

        return updated;
    }

    /// <summary>
    /// Deletes a namespace, durably, with the record of its purge (<see cref="NamespacePurger"/> removes its rows in the
    /// background); the caller has checked the version and delete protection.
    /// </summary>
    public async Task DeleteAsync(NamespaceEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await WriteAsync(new NamespaceWrite(Record(entry), Deletes: true) { DeletedTime = time.GetUtcNow().UtcDateTime }).ConfigureAwait(false);
            Uncache(entry);
            MarkDeleted(entry.Id);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<NamespaceEntry> AddAsync(string name, string account, TimeSpan retention, NamespaceTlsPolicy? tls, Func<NamespaceEntry, NamespaceEntry>? details = null)
    {
        var created = new NamespaceEntry
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            Account = account,
            Retention = retention,
            CreatedTime = time.GetUtcNow().UtcDateTime,
            LastModifiedTime = time.GetUtcNow().UtcDateTime,
            Version = 1,
            Tls = tls,
        };
        var entry = details?.Invoke(created) ?? created;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await WriteAsync(new NamespaceWrite(Record(entry))).ConfigureAwait(false);
            Cache(entry);
        }
        finally
        {
            _writeLock.Release();
        }

        return entry;
    }

    private static NamespaceRecord Record(NamespaceEntry entry) => new(entry.Id, entry.Name, entry.Account, entry.Serialize());

    /// <summary>A namespace record on a transition of its own, through the one writer (the call's audit record rides it).</summary>
    private Task WriteAsync(NamespaceWrite write) => committer.CommitAsync(new Transition([]) { Namespace = write });

    private static void CheckName(string name, string what = "Namespace")
    {
        if (!NameRule().IsMatch(name))
        {
            throw ServiceException.InvalidArgument(
                $"{what} name {ServiceException.Quote(name)} is invalid: use 2–39 lowercase letters, digits and '-', starting with a letter or digit.");
        }
    }

    /// <summary>The namespace a request names, or NOT_FOUND with Temporal's NamespaceNotFoundFailure detail.</summary>
    public NamespaceEntry Resolve(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw ServiceException.InvalidArgument("Namespace is not set on request.");
        }

        return _byName.TryGetValue(name, out var entry) ? entry : throw NotFound(name);
    }

    /// <summary>Temporal's NamespaceNotFound, with its exact text (clients match on it): <c>Namespace x is not found.</c></summary>
    public static ServiceException NotFound(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var shown = name.Length > 100 ? name[..100] : name;
        return new(ErrorKind.NotFound, $"Namespace {shown} is not found.", new NamespaceNotFoundFailure { Namespace = shown });
    }

    public bool TryResolve(string name, out NamespaceEntry? entry) => _byName.TryGetValue(name, out entry);

    /// <summary>The namespace with this internal id (the engine knows runs by namespace id).</summary>
    public NamespaceEntry? FindById(string id) => _byName.Values.FirstOrDefault(e => e.Id == id);

    private void Cache(NamespaceEntry entry)
    {
        _byName[entry.FullName] = entry;
        if (entry.Account == DevAccount)
        {
            _byName[entry.Name] = entry;
        }
    }

    private void Uncache(NamespaceEntry entry)
    {
        _byName.TryRemove(entry.FullName, out _);
        if (entry.Account == DevAccount)
        {
            _byName.TryRemove(entry.Name, out _);
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,38}$")]
    private static partial Regex NameRule();
}
