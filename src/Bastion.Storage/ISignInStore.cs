namespace Bastion.Storage;

/// <summary>
/// What every node of a cluster must share for people to sign in to the web UI on any of them: values sealed with the
/// key ring (ASP.NET Core Data Protection's keys, which protect an OpenID Connect sign-in's state between the start and
/// the callback; an OpenID Connect client secret given through the API), never plaintext here; and the SAML assertion
/// ids already used, so an assertion replayed to another node is refused.
/// </summary>
public interface ISignInStore
{
    /// <summary>Stores <paramref name="value"/> (already sealed by the caller) under <paramref name="name"/>, replacing what was there.</summary>
    Task PutSealedAsync(string name, string value, CancellationToken cancellationToken);

    /// <summary>Removes the value named <paramref name="name"/>, if there is one.</summary>
    Task DeleteSealedAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every value whose name starts with <paramref name="prefix"/>, ordered by name.</summary>
    Task<IReadOnlyList<SealedValue>> ListSealedAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>
    /// Records that <paramref name="id"/> is used until <paramref name="expires"/>: true the first time (or once an earlier
    /// use expired), false while an earlier use stands — a replay. Expired entries are dropped on the way.
    /// </summary>
    Task<bool> UseOnceAsync(string id, DateTime expires, DateTime now, CancellationToken cancellationToken);
}

/// <summary>A sealed value as stored: its name and the key ring's encoding of it (<see cref="RecordIdentities.Sealed"/>).</summary>
public sealed record SealedValue(string Name, string Value);
