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

    public void Load()
    {
        foreach (var record in store.ListNamespaces())
        {
            Cache(NamespaceEntry.Deserialize(record.Data));
        }
    }

    public IReadOnlyCollection<NamespaceEntry> All => _byName.Values.Distinct().OrderBy(n => n.FullName, StringComparer.Ordinal).ToList();

    /// <summary>Registers a namespace unless it exists; returns it either way.</summary>
    public NamespaceEntry Ensure(string name, string account, TimeSpan retention)
    {
        if (!NameRule().IsMatch(name))
        {
            throw ServiceException.InvalidArgument(
                $"Namespace name {ServiceException.Quote(name)} is invalid: use 2–39 lowercase letters, digits and '-', starting with a letter or digit.");
        }

        if (_byName.TryGetValue($"{name}.{account}", out var existing))
        {
            return existing;
        }

        var entry = new NamespaceEntry
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            Account = account,
            Retention = retention,
            CreatedTime = time.GetUtcNow().UtcDateTime,
        };
        store.UpsertNamespace(new NamespaceRecord(entry.Id, entry.Name, entry.Account, entry.Serialize()));
        Cache(entry);
        return entry;
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
