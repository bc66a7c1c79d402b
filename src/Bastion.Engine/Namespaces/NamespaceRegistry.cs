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
public sealed partial class NamespaceRegistry(IExecutionStore store, TimeProvider time)
{
    public const string DevAccount = "local";

    private readonly ConcurrentDictionary<string, NamespaceEntry> _byName = new(StringComparer.Ordinal);

    // Store write + cache update, and store read + cache update, happen one at a time: a refresh never puts back
    // an entry older than one this process just wrote.
    private readonly Lock _writeLock = new();

    public void Load()
    {
        foreach (var record in store.ListNamespaces())
        {
            Cache(NamespaceEntry.Deserialize(record.Data));
        }
    }

    /// <summary>
    /// Re-reads every namespace from the store: picks up namespaces created or changed by another process on the
    /// same database (the <c>bastion namespace</c> commands). Returns the entries that are new or changed.
    /// </summary>
    public IReadOnlyList<NamespaceEntry> Refresh()
    {
        var changed = new List<NamespaceEntry>();
        lock (_writeLock)
        {
            var stored = store.ListNamespaces();
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
            }
        }

        return changed;
    }

    public IReadOnlyCollection<NamespaceEntry> All => _byName.Values.Distinct().OrderBy(n => n.FullName, StringComparer.Ordinal).ToList();

    /// <summary>Registers a namespace unless it exists; returns it either way.</summary>
    public NamespaceEntry Ensure(string name, string account, TimeSpan retention)
    {
        CheckName(name);
        CheckName(account, "Account");
        return _byName.TryGetValue($"{name}.{account}", out var existing) ? existing : Add(name, account, retention, null);
    }

    /// <summary>Registers a new namespace; ALREADY_EXISTS if it exists. The TLS policy must have been validated.</summary>
    public NamespaceEntry Create(string name, string account, TimeSpan retention, NamespaceTlsPolicy? tls, Func<NamespaceEntry, NamespaceEntry>? details = null)
    {
        CheckName(name);
        CheckName(account, "Account");
        return _byName.ContainsKey($"{name}.{account}")
            ? throw new ServiceException(ErrorKind.AlreadyExists, $"Namespace {name}.{account} already exists.", new NamespaceAlreadyExistsFailure())
            : Add(name, account, retention, tls, details);
    }

    /// <summary>Replaces a namespace's TLS policy (already validated), durably; returns the new entry.</summary>
    public NamespaceEntry SetTls(NamespaceEntry entry, NamespaceTlsPolicy? tls)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Update(entry with { Tls = tls });
    }

    /// <summary>Replaces the namespace's codec-server setting (null removes it), validated first.</summary>
    public NamespaceEntry SetCodecServer(NamespaceEntry entry, NamespaceCodecServer? codecServer)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Update(entry with { CodecServer = codecServer is null ? null : CodecServerEndpoints.Validate(codecServer) });
    }

    /// <summary>
    /// Stores a changed namespace (same id, name and account), durably, with its version bumped; returns it. With
    /// <paramref name="expectedVersion"/>, a namespace changed since the caller read it is FAILED_PRECONDITION.
    /// </summary>
    public NamespaceEntry Update(NamespaceEntry updated, long? expectedVersion = null)
    {
        ArgumentNullException.ThrowIfNull(updated);
        lock (_writeLock)
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
            store.UpsertNamespace(new NamespaceRecord(updated.Id, updated.Name, updated.Account, updated.Serialize()));
            Cache(updated);
        }

        return updated;
    }

    /// <summary>Deletes a namespace, durably; the caller has checked the version and delete protection.</summary>
    public void Delete(NamespaceEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_writeLock)
        {
            store.DeleteNamespace(entry.Id);
            Uncache(entry);
        }
    }

    private NamespaceEntry Add(string name, string account, TimeSpan retention, NamespaceTlsPolicy? tls, Func<NamespaceEntry, NamespaceEntry>? details = null)
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
        lock (_writeLock)
        {
            store.UpsertNamespace(new NamespaceRecord(entry.Id, entry.Name, entry.Account, entry.Serialize()));
            Cache(entry);
        }

        return entry;
    }

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
