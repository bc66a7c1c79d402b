using Bastion.Storage.Encryption;

namespace Bastion.Storage;

/// <summary>
/// Small records read at start and cached above: namespaces, identities, data keys, cluster settings. Namespace and
/// identity records are written by transitions (<see cref="Transition.Namespace"/>, <see cref="Transition.Identity"/>)
/// so their audit record lands with them.
/// </summary>
public interface IMetadataStore
{
    Task<IReadOnlyList<NamespaceRecord>> ListNamespacesAsync(CancellationToken cancellationToken);

    /// <summary>Users, service accounts, API keys, groups, operator grants, async operations.</summary>
    Task<IReadOnlyList<IdentityRecord>> ListIdentitiesAsync(CancellationToken cancellationToken);

    /// <summary>Every namespace key, wrapped (encryption at rest).</summary>
    Task<IReadOnlyList<DataKeyRecord>> ListDataKeysAsync(CancellationToken cancellationToken);

    /// <summary>Adds a key unless that namespace and version exist; true when added.</summary>
    Task<bool> AddDataKeyAsync(DataKeyRecord key, CancellationToken cancellationToken);

    /// <summary>Marks a key retired and erases its wrapped material.</summary>
    Task RetireDataKeyAsync(string namespaceId, int version, CancellationToken cancellationToken);

    /// <summary>A cluster-wide setting fixed at creation (e.g. whether records are encrypted): stored if absent, then read.</summary>
    Task<string> EnsureClusterSettingAsync(string key, string valueForNew, CancellationToken cancellationToken);

    /// <summary>A cluster-wide setting as stored, null when absent (for offline tools, which must not choose one).</summary>
    Task<string?> ReadClusterSettingAsync(string key, CancellationToken cancellationToken);
}

/// <summary>An identity record as stored; <see cref="Data"/> is the encoded record (never a secret: API keys keep only a hash).</summary>
public sealed record IdentityRecord(string Kind, string Id, string Account, byte[] Data);
