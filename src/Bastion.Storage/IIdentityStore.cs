namespace Bastion.Storage;

/// <summary>
/// Durable identity records (users, service accounts, API keys, groups, operator grants, async operations): one
/// encoded record per kind and id. The identity layer keeps the logic and a cache; a dialect only stores them.
/// </summary>
public interface IIdentityStore
{
    IReadOnlyList<IdentityRecord> ListIdentities();

    /// <summary>Writes a record, and <paramref name="audit"/> (the account event it is) in the same transaction.</summary>
    void UpsertIdentity(IdentityRecord record, PendingAudit? audit = null);

    /// <summary>Deletes a record, and appends <paramref name="audit"/> in the same transaction.</summary>
    void DeleteIdentity(string kind, string id, PendingAudit? audit = null);
}

/// <summary>An identity record as stored; <see cref="Data"/> is the encoded record (never a secret: API keys keep only a hash).</summary>
public sealed record IdentityRecord(string Kind, string Id, string Account, byte[] Data);
