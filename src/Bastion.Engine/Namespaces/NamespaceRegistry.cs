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
            foreach (var record in store.ListNamespaces())
            {
                if (_byName.TryGetValue($"{record.Name}.{record.Account}", out var cached) && cached.Serialize().AsSpan().SequenceEqual(record.Data))
                {
                    continue;
                }

                var entry = NamespaceEntry.Deserialize(record.Data);
                Cache(entry);
                changed.Add(entry);
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
    public NamespaceEntry Create(string name, string account, TimeSpan retention, NamespaceTlsPolicy? tls)
    {
        CheckName(name);
        CheckName(account, "Account");
        return _byName.ContainsKey($"{name}.{account}")
            ? throw new ServiceException(ErrorKind.AlreadyExists, $"Namespace {name}.{account} already exists.", new NamespaceAlreadyExistsFailure())
            : Add(name, account, retention, tls);
    }

    /// <summary>Replaces a namespace's TLS policy (already validated), durably; returns the new entry.</summary>
    public NamespaceEntry SetTls(NamespaceEntry entry, NamespaceTlsPolicy? tls)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Save(entry.WithTls(tls));
    }

    /// <summary>Replaces the namespace's codec-server setting (null removes it).</summary>
    public NamespaceEntry SetCodecServer(NamespaceEntry entry, NamespaceCodecServer? codecServer)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Save(entry.WithCodecServer(codecServer is null ? null : CodecServerEndpoints.Validate(codecServer)));
    }

    private NamespaceEntry Save(NamespaceEntry updated)
    {
        lock (_writeLock)
        {
            store.UpsertNamespace(new NamespaceRecord(updated.Id, updated.Name, updated.Account, updated.Serialize()));
            Cache(updated);
        }

        return updated;
    }

    private NamespaceEntry Add(string name, string account, TimeSpan retention, NamespaceTlsPolicy? tls)
    {
        var entry = new NamespaceEntry
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            Account = account,
            Retention = retention,
            CreatedTime = time.GetUtcNow().UtcDateTime,
            Tls = tls,
        };
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

        return _byName.TryGetValue(name, out var entry)
            ? entry
            : throw new ServiceException(
                ErrorKind.NotFound,
                $"Namespace {ServiceException.Quote(name, 100)} is not found.",
                new NamespaceNotFoundFailure { Namespace = name.Length > 100 ? name[..100] : name });
    }

    public bool TryResolve(string name, out NamespaceEntry? entry) => _byName.TryGetValue(name, out entry);

    private void Cache(NamespaceEntry entry)
    {
        _byName[entry.FullName] = entry;
        if (entry.Account == DevAccount)
        {
            _byName[entry.Name] = entry;
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,38}$")]
    private static partial Regex NameRule();
}
