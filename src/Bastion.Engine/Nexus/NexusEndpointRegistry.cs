using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Storage;

namespace Bastion.Engine.Nexus;

/// <summary>
/// The Nexus endpoints of every account, durable in the store and cached here. Names are unique per account; every
/// change is versioned (a stale version is FAILED_PRECONDITION) and committed on a transition of its own, so the call's
/// audit record lands with it. Both OperatorService and the Cloud Ops API manage endpoints through here.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync is used).")]
public sealed partial class NexusEndpointRegistry(IStorageProvider store, GroupCommitter committer, NamespaceRegistry namespaces, TimeProvider time)
{
    /// <summary>Temporal's limits (dynamic config defaults): name length, description size, URL and task queue length.</summary>
    public const int MaxNameLength = 200;
    public const int MaxDescriptionBytes = 20_000;
    public const int MaxUrlLength = 4_000;
    public const int MaxTaskQueueLength = 1_000;

    private readonly ConcurrentDictionary<string, NexusEndpointEntry> _byId = new(StringComparer.Ordinal);

    // Store write + cache update, and store read + cache update, one at a time (as NamespaceRegistry).
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ReadStoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Re-reads the store: picks up endpoints changed by another node on the same database.</summary>
    public Task RefreshAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    /// <summary>The account's endpoints in name order.</summary>
    public IReadOnlyList<NexusEndpointEntry> List(string account) =>
        _byId.Values.Where(e => e.Account == account).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();

    /// <summary>The account's endpoint with this id, or NOT_FOUND.</summary>
    public NexusEndpointEntry Get(string account, string id)
    {
        CheckId(id);
        return _byId.TryGetValue(id, out var entry) && entry.Account == account ? entry : throw NotFound(id);
    }

    /// <summary>The account's endpoint with this name, or null.</summary>
    public NexusEndpointEntry? FindByName(string account, string name) =>
        _byId.Values.FirstOrDefault(e => e.Account == account && e.Name == name);

    public async Task<NexusEndpointEntry> CreateAsync(string account, NexusEndpointSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var now = time.GetUtcNow().UtcDateTime;
        var entry = Apply(new NexusEndpointEntry { Id = Guid.NewGuid().ToString(), Account = account, Name = spec.Name, Version = 1, CreatedTime = now, LastModifiedTime = now }, spec);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            CheckNameFree(entry);
            await WriteAsync(new NexusEndpointWrite(Record(entry), ExpectedVersion: 0)).ConfigureAwait(false);
            _byId[entry.Id] = entry;
        }
        finally
        {
            _writeLock.Release();
        }

        return entry;
    }

    /// <summary>Replaces the endpoint's spec at <paramref name="expectedVersion"/> (null: whatever it is now); returns the stored endpoint.</summary>
    public async Task<NexusEndpointEntry> UpdateAsync(string account, string id, long? expectedVersion, NexusEndpointSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Get(account, id);
            CheckVersion(current, expectedVersion);
            var updated = Apply(current with { Name = spec.Name, Version = current.Version + 1, LastModifiedTime = time.GetUtcNow().UtcDateTime }, spec);
            CheckNameFree(updated);
            await WriteAsync(new NexusEndpointWrite(Record(updated), current.Version)).ConfigureAwait(false);
            _byId[updated.Id] = updated;
            return updated;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Deletes the endpoint at <paramref name="expectedVersion"/> (null: whatever it is now).</summary>
    public async Task DeleteAsync(string account, string id, long? expectedVersion)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Get(account, id);
            CheckVersion(current, expectedVersion);
            await WriteAsync(new NexusEndpointWrite(Record(current), current.Version, Deletes: true)).ConfigureAwait(false);
            _byId.TryRemove(id, out _);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Temporal's NOT_FOUND text for an endpoint id.</summary>
    public static ServiceException NotFound(string id) => ServiceException.NotFound($"Nexus endpoint with ID {ServiceException.Quote(id, 100)} not found.");

    /// <summary>The namespace as its owner names it: the bare name in the dev account, else <c>name.account</c>.</summary>
    public static string DisplayName(NamespaceEntry ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.Account == NamespaceRegistry.DevAccount ? ns.Name : ns.FullName;
    }

    /// <summary>The spec validated onto <paramref name="entry"/> (Temporal's rules and texts, plus the allowlist's).</summary>
    private NexusEndpointEntry Apply(NexusEndpointEntry entry, NexusEndpointSpec spec)
    {
        var issues = new List<string>();
        if (string.IsNullOrEmpty(spec.Name))
        {
            issues.Add("endpoint name not set");
        }
        else
        {
            if (spec.Name.Length > MaxNameLength)
            {
                issues.Add($"endpoint name exceeds length limit of {MaxNameLength}");
            }

            if (!NameRule().IsMatch(spec.Name))
            {
                issues.Add("endpoint name must match the regex: \"^[a-zA-Z][a-zA-Z0-9\\\\-]*[a-zA-Z0-9]$\"");
            }
        }

        if (spec.Description is { Length: > MaxDescriptionBytes })
        {
            issues.Add($"description size exceeds limit of {MaxDescriptionBytes}");
        }

        NamespaceEntry? target = null;
        if (spec.TargetNamespace is { } targetName)
        {
            if (targetName.Length == 0)
            {
                issues.Add("target namespace not set");
            }
            else
            {
                target = InAccount(entry.Account, targetName, "target");
            }

            if (string.IsNullOrEmpty(spec.TargetTaskQueue))
            {
                issues.Add("invalid target task queue: \"taskQueue is not set\"");
            }
            else if (spec.TargetTaskQueue.Length > MaxTaskQueueLength)
            {
                issues.Add($"invalid target task queue: \"taskQueue length exceeds limit of {MaxTaskQueueLength}\"");
            }
        }
        else if (spec.ExternalUrl is { } url)
        {
            if (url.Length == 0)
            {
                issues.Add("empty target URL");
            }
            else if (url.Length > MaxUrlLength)
            {
                issues.Add($"target URL length exceeds limit of {MaxUrlLength}");
            }
            else if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed))
            {
                issues.Add($"invalid target URL: {ServiceException.Quote(url, 200)}");
            }
            else if (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
            {
                issues.Add($"invalid target URL scheme: \"{parsed.Scheme}\", expected http or https");
            }
        }
        else
        {
            issues.Add("empty target variant");
        }

        if (issues.Count > 0)
        {
            throw ServiceException.InvalidArgument(string.Join(", ", issues));
        }

        var allowed = spec.AllowedCallerNamespaces is { } names
            ? names.Select(n => InAccount(entry.Account, n, "allowed caller").Id).Distinct(StringComparer.Ordinal).ToList()
            : entry.Version == 1 && target is not null ? [target.Id] : entry.AllowedCallerNamespaceIds;
        return entry with
        {
            Description = spec.Description,
            TargetNamespaceId = target?.Id,
            TargetTaskQueue = target is null ? null : spec.TargetTaskQueue,
            ExternalUrl = target is null ? spec.ExternalUrl : null,
            AllowedCallerNamespaceIds = allowed,
        };
    }

    /// <summary>A namespace of the endpoint's account; another account's is as absent as a missing one.</summary>
    private NamespaceEntry InAccount(string account, string name, string role)
    {
        var full = name.Contains('.', StringComparison.Ordinal) ? name : $"{name}.{account}";
        return namespaces.TryResolve(full, out var ns) && ns!.Account == account
            ? ns
            : throw new ServiceException(ErrorKind.FailedPrecondition, $"could not verify namespace referenced by {role} exists: namespace {ServiceException.Quote(name, 100)} is not found in this account.");
    }

    private void CheckNameFree(NexusEndpointEntry entry)
    {
        if (FindByName(entry.Account, entry.Name) is { } other && other.Id != entry.Id)
        {
            throw new ServiceException(ErrorKind.AlreadyExists, $"error creating Nexus endpoint. Endpoint with name {entry.Name} already registered");
        }
    }

    private static void CheckVersion(NexusEndpointEntry current, long? expectedVersion)
    {
        if (expectedVersion is { } expected && expected != current.Version)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, $"nexus endpoint version mismatch. received: {expected} expected {current.Version}");
        }
    }

    private static void CheckId(string id)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw ServiceException.InvalidArgument("endpoint ID not set");
        }

        if (!Guid.TryParse(id, out _))
        {
            throw ServiceException.InvalidArgument($"malformed endpoint ID: {ServiceException.Quote(id, 100)}");
        }
    }

    private static NexusEndpointRecord Record(NexusEndpointEntry entry) => new(entry.Id, entry.Account, entry.Name, entry.Version, entry.Serialize());

    /// <summary>
    /// One transition through the one writer. Rejected (another node changed the row, or took the name): the cache is
    /// re-read and the caller told to read again.
    /// </summary>
    private async Task WriteAsync(NexusEndpointWrite write)
    {
        try
        {
            await committer.CommitAsync(new Transition([]) { NexusEndpoint = write }).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            await ReadStoreAsync(CancellationToken.None).ConfigureAwait(false);
            throw new ServiceException(ErrorKind.FailedPrecondition, $"Nexus endpoint {write.Record.Name} changed on another server, or its name was taken there: read it again and retry.");
        }
    }

    /// <summary>The cache replaced by the store's rows; under the write lock.</summary>
    private async Task ReadStoreAsync(CancellationToken cancellationToken)
    {
        var stored = await store.NexusEndpoints.ListNexusEndpointsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var record in stored)
        {
            var entry = NexusEndpointEntry.Deserialize(record.Data);
            _byId[entry.Id] = entry;
        }

        // Deleted by another node: gone from the store, so gone from here.
        var ids = stored.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _byId.Keys.Where(id => !ids.Contains(id)).ToList())
        {
            _byId.TryRemove(gone, out _);
        }
    }

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9\\-]*[a-zA-Z0-9]$")]
    private static partial Regex NameRule();
}
