using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Storage;

namespace Bastion.Security.Identity;

/// <summary>
/// Users, service accounts, API keys, groups, operator grants and async operations: durable in the store, cached
/// here. Every write happens under one lock, so the checks that precede it (resource version, key limits) hold
/// when it lands; the records one operation changes (a user, its group memberships and keys) land in one
/// transaction, each with its account event.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync is used).")]
public sealed partial class IdentityRegistry(IStorageProvider store, GroupCommitter committer, TimeProvider time)
{
    public const int MaxKeysPerUser = 10;
    public const int MaxKeysPerServiceAccount = 20;
    public static readonly TimeSpan MaxKeyLifetime = TimeSpan.FromDays(2 * 365);
    public static readonly TimeSpan MaxOperatorGrant = TimeSpan.FromHours(8);

    private readonly ConcurrentDictionary<string, IdentityEntry> _entries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private long _lastRefresh;

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    public Task LoadAsync(CancellationToken cancellationToken) => RefreshAsync(cancellationToken);

    /// <summary>Re-reads every record: picks up what another process (the operator CLI) wrote to the same database.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stored = (await store.Metadata.ListIdentitiesAsync(cancellationToken).ConfigureAwait(false))
                .Select(r => Deserialize(r.Data)).ToDictionary(Key, StringComparer.Ordinal);
            foreach (var key in _entries.Keys.Where(k => !stored.ContainsKey(k)).ToList())
            {
                _entries.TryRemove(key, out _);
            }

            foreach (var (key, entry) in stored)
            {
                _entries[key] = entry;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public T? Find<T>(string id)
        where T : IdentityEntry =>
        _entries.GetValueOrDefault(KindOf(typeof(T)) + "/" + id) as T;

    /// <summary>The record of an account, or NOT_FOUND naming what was asked for.</summary>
    public T Get<T>(string account, string id, string what)
        where T : IdentityEntry =>
        Find<T>(id) is { } entry && entry.Account == account
            ? entry
            : throw ServiceException.NotFound($"{what} {ServiceException.Quote(id, 100)} is not found.");

    /// <summary>Whether any record of this kind exists, in any account.</summary>
    public bool Any<T>()
        where T : IdentityEntry =>
        _entries.Values.OfType<T>().Any();

    public IEnumerable<T> All<T>(string account)
        where T : IdentityEntry =>
        _entries.Values.OfType<T>().Where(e => e.Account == account).OrderBy(e => e.CreatedTime).ThenBy(e => e.Id, StringComparer.Ordinal);

    /// <summary>Stores a new record with version 1.</summary>
    public Task<T> CreateAsync<T>(T entry, Action<T>? check = null)
        where T : IdentityEntry
    {
        ArgumentNullException.ThrowIfNull(entry);
        return WriteAsync(changes => Create(changes, entry, check));
    }

    private T Create<T>(IdentityChanges changes, T entry, Action<T>? check = null)
        where T : IdentityEntry
    {
        if (_entries.ContainsKey(Key(entry)) || changes.Cache.Any(c => c.Key == Key(entry)))
        {
            throw new ServiceException(ErrorKind.AlreadyExists, $"{ServiceException.Quote(entry.Id, 100)} already exists.");
        }

        check?.Invoke(entry);
        return Store(changes, entry with { Version = 1, CreatedTime = Now, LastModifiedTime = Now });
    }

    /// <summary>
    /// Replaces a record with <paramref name="change"/> of its current state. A non-empty
    /// <paramref name="expectedVersion"/> that is not the current one is FAILED_PRECONDITION.
    /// </summary>
    public Task<T> UpdateAsync<T>(string account, string id, string what, string? expectedVersion, Func<T, T> change)
        where T : IdentityEntry
    {
        ArgumentNullException.ThrowIfNull(change);
        return WriteAsync(changes =>
        {
            var current = Get<T>(account, id, what);
            CheckVersion(current, what, expectedVersion);
            return Store(changes, change(current) with { Id = current.Id, Account = current.Account, Version = current.Version + 1, LastModifiedTime = Now });
        });
    }

    /// <summary>Deletes a record (and, for a user or service account, its API keys).</summary>
    public Task DeleteAsync<T>(string account, string id, string what, string? expectedVersion)
        where T : IdentityEntry =>
        WriteAsync(changes =>
        {
            var current = Get<T>(account, id, what);
            CheckVersion(current, what, expectedVersion);
            Remove(changes, current);
            if (current is UserEntry)
            {
                // Leaves no membership pointing at a user that is gone.
                foreach (var group in _entries.Values.OfType<UserGroupEntry>().Where(g => g.Members.ContainsKey(id)).ToList())
                {
                    Store(changes, group with
                    {
                        Members = group.Members.Where(m => m.Key != id).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal),
                        Version = group.Version + 1,
                    });
                }
            }

            if (current is UserEntry or ServiceAccountEntry)
            {
                foreach (var key in _entries.Values.OfType<ApiKeyEntry>().Where(k => k.OwnerId == id).ToList())
                {
                    Remove(changes, key);
                }
            }

            return current;
        });

    /// <summary>
    /// Creates an API key for an owner of the account; returns it and its token, which is shown once and kept
    /// nowhere. <paramref name="chosenToken"/> (the bootstrap owner key) replaces the random one.
    /// </summary>
    public Task<(ApiKeyEntry Key, string Token)> CreateApiKeyAsync(ApiKeyEntry spec, string? chosenToken = null) =>
        WriteAsync(changes => CreateApiKey(changes, spec, chosenToken));

    private (ApiKeyEntry Key, string Token) CreateApiKey(IdentityChanges changes, ApiKeyEntry spec, string? chosenToken = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (key, token) = chosenToken is null ? ApiKeyToken.Generate() : (ApiKeyToken.Parse(chosenToken), chosenToken);
        var maxExpiry = Now + (spec.OwnerType == PrincipalType.Operator ? MaxOperatorGrant : MaxKeyLifetime);
        if (spec.ExpiryTime <= Now || spec.ExpiryTime > maxExpiry.AddMinutes(1))
        {
            throw ServiceException.InvalidArgument(
                $"API key expiry {spec.ExpiryTime.ToString("O", CultureInfo.InvariantCulture)} must be in the future and at most {(spec.OwnerType == PrincipalType.Operator ? "8 hours" : "2 years")} ahead.");
        }

        var entry = spec with { Id = key.PublicId, SecretHash = key.Hash() };
        return (Create(changes, entry, CheckKeyLimit), token);
    }

    private void CheckKeyLimit(ApiKeyEntry key)
    {
        var limit = key.OwnerType switch
        {
            PrincipalType.User => MaxKeysPerUser,
            PrincipalType.ServiceAccount => MaxKeysPerServiceAccount,
            _ => int.MaxValue,
        };
        var live = _entries.Values.OfType<ApiKeyEntry>().Count(k => k.OwnerId == key.OwnerId && k.ExpiryTime > Now);
        if (live >= limit)
        {
            var owner = key.OwnerType == PrincipalType.User ? "User" : "Service account";
            throw new ServiceException(
                ErrorKind.ResourceExhausted,
                $"{owner} {key.OwnerId} already has {live} live API keys, the limit is {limit}: delete one, or wait for one to expire.");
        }
    }

    /// <summary>Records a Cloud Ops API write (already durable) for <c>GetAsyncOperation</c>.</summary>
    public Task<AsyncOperationEntry> RecordOperationAsync(string account, string operationType, string resourceId, string? requestedId)
    {
        var id = string.IsNullOrEmpty(requestedId) ? Guid.NewGuid().ToString() : requestedId;
        if (id.Length > 128)
        {
            throw ServiceException.InvalidArgument($"async_operation_id {ServiceException.Quote(id, 100)} is longer than 128 characters.");
        }

        return CreateAsync(new AsyncOperationEntry { Id = id, Account = account, OperationType = operationType, ResourceId = resourceId });
    }

    /// <summary>
    /// A deleted namespace takes its namespace-scoped service accounts (and their keys) and operator grants with
    /// it, and leaves no permission on its id behind.
    /// </summary>
    public Task RemoveNamespaceAsync(NamespaceEntry ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return WriteAsync(changes =>
        {
            foreach (var entry in _entries.Values.Where(e => e.Account == ns.Account).ToList())
            {
                switch (entry)
                {
                    case ServiceAccountEntry sa when sa.ScopedNamespaceId == ns.Id:
                    case OperatorGrantEntry grant when grant.NamespaceId == ns.Id:
                        Remove(changes, entry);
                        foreach (var key in _entries.Values.OfType<ApiKeyEntry>().Where(k => k.OwnerId == entry.Id).ToList())
                        {
                            Remove(changes, key);
                        }

                        break;
                    case UserEntry user when user.NamespaceAccess.ContainsKey(ns.Id):
                        Store(changes, user with { NamespaceAccess = Without(user.NamespaceAccess, ns.Id), Version = user.Version + 1 });
                        break;
                    case ServiceAccountEntry sa when sa.NamespaceAccess.ContainsKey(ns.Id):
                        Store(changes, sa with { NamespaceAccess = Without(sa.NamespaceAccess, ns.Id), Version = sa.Version + 1 });
                        break;
                    case UserGroupEntry group when group.NamespaceAccess.ContainsKey(ns.Id):
                        Store(changes, group with { NamespaceAccess = Without(group.NamespaceAccess, ns.Id), Version = group.Version + 1 });
                        break;
                }
            }

            return ns;
        });
    }

    private static Dictionary<string, Permission> Without(IReadOnlyDictionary<string, Permission> access, string namespaceId) =>
        access.Where(a => a.Key != namespaceId).ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);

    /// <summary>Whether the store holds any user of the account (bootstrap runs only on an account without one).</summary>
    public bool HasUsers(string account) => All<UserEntry>(account).Any();

    private static void CheckVersion(IdentityEntry current, string what, string? expectedVersion)
    {
        if (string.IsNullOrEmpty(expectedVersion))
        {
            return;
        }

        if (!long.TryParse(expectedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var expected) || expected != current.Version)
        {
            throw new ServiceException(
                ErrorKind.FailedPrecondition,
                $"{what} {current.Id} is at resource version {current.Version}, not {ServiceException.Quote(expectedVersion, 40)}: read it again and retry.");
        }
    }

    /// <summary>Re-reads the store when a presented key is unknown, at most once a second: the operator CLI may have just made it.</summary>
    internal async ValueTask<bool> RefreshThrottledAsync()
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastRefresh);
        if (last != 0 && time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(1) || Interlocked.CompareExchange(ref _lastRefresh, now, last) != last)
        {
            return false;
        }

        await RefreshAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="change"/> under the write lock, commits the records it changed (with their account events)
    /// in one transaction, then updates the cache: a failed commit leaves the cache as the store is.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<IdentityChanges, T> change)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var changes = new IdentityChanges();
            var result = change(changes);
            if (changes.Writes.Count > 0)
            {
                await committer.CommitAsync(new Transition([]) { Identities = changes.Writes }, changes.Audit).ConfigureAwait(false);
            }

            foreach (var (key, entry) in changes.Cache)
            {
                if (entry is null)
                {
                    _entries.TryRemove(key, out _);
                }
                else
                {
                    _entries[key] = entry;
                }
            }

            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private T Store<T>(IdentityChanges changes, T entry)
        where T : IdentityEntry
    {
        var record = new IdentityRecord(KindOf(entry.GetType()), entry.Id, entry.Account, JsonSerializer.SerializeToUtf8Bytes<IdentityEntry>(entry, IdentityJsonContext.Default.IdentityEntry));
        changes.Add(new IdentityWrite(record), StoredEvent(_entries.GetValueOrDefault(Key(entry)), entry), Key(entry), entry);
        return entry;
    }

    private void Remove(IdentityChanges changes, IdentityEntry entry) =>
        changes.Add(new IdentityWrite(new IdentityRecord(KindOf(entry.GetType()), entry.Id, entry.Account, []), Deletes: true), RemovedEvent(entry), Key(entry), null);

    /// <summary>What one identity operation writes (one transition): its records, their account events, and the cache updates after commit.</summary>
    private sealed class IdentityChanges
    {
        public List<IdentityWrite> Writes { get; } = [];

        public List<PendingAudit> Audit { get; } = [];

        public List<(string Key, IdentityEntry? Entry)> Cache { get; } = [];

        public void Add(IdentityWrite write, PendingAudit? audit, string key, IdentityEntry? entry)
        {
            Writes.Add(write);
            if (audit is not null)
            {
                Audit.Add(audit);
            }

            Cache.Add((key, entry));
        }
    }

    private static IdentityEntry Deserialize(byte[] data) =>
        JsonSerializer.Deserialize(data, IdentityJsonContext.Default.IdentityEntry) ?? throw new InvalidDataException("Identity record is empty.");

    private static string Key(IdentityEntry entry) => KindOf(entry.GetType()) + "/" + entry.Id;

    private static string KindOf(Type type) => type.Name switch
    {
        nameof(UserEntry) => "user",
        nameof(ServiceAccountEntry) => "service-account",
        nameof(ApiKeyEntry) => "api-key",
        nameof(UserGroupEntry) => "group",
        nameof(OperatorGrantEntry) => "operator-grant",
        nameof(AsyncOperationEntry) => "async-operation",
        nameof(SsoSettingsEntry) => "sso-settings",
        _ => throw new ArgumentException($"Not an identity record: {type.Name}."),
    };
}
