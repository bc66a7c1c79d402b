namespace Bastion.Storage;

/// <summary>
/// Nexus endpoints (issue 19): a small, account-scoped registry read whole at start and cached above. Written only by
/// transitions (<see cref="Transition.NexusEndpoint"/>), so the call's audit record lands with the change.
/// </summary>
public interface INexusEndpointStore
{
    /// <summary>Every endpoint of every account, ordered by account and name.</summary>
    Task<IReadOnlyList<NexusEndpointRecord>> ListNexusEndpointsAsync(CancellationToken cancellationToken);
}

/// <summary>
/// An endpoint as stored: the id (a UUID), the account it belongs to, its name (unique per account), the version every
/// change bumps, and the encoded entry (spec, target, allowed caller namespaces, times).
/// </summary>
public sealed record NexusEndpointRecord(string Id, string Account, string Name, long Version, byte[] Data);

/// <summary>
/// An endpoint written by a transition, versioned like a schedule: <see cref="ExpectedVersion"/> 0 creates it (refused
/// when the id, or the name in its account, is taken), otherwise the stored version must be
/// <see cref="ExpectedVersion"/> or the whole transition is rejected. <see cref="Deletes"/> removes it at that version.
/// </summary>
public sealed record NexusEndpointWrite(NexusEndpointRecord Record, long ExpectedVersion, bool Deletes = false);
