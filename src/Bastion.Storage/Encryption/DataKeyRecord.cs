namespace Bastion.Storage.Encryption;

/// <summary>
/// A namespace's key as stored: wrapped by the master key. Version 0 is the namespace's blind-index key; versions
/// 1, 2, … are its data keys, the highest one not retired being current. A retired key's material is erased.
/// </summary>
public sealed record DataKeyRecord(string NamespaceId, int Version, byte[] Wrapped, bool Retired);
