using Bastion.Storage;
using Bastion.Storage.Encryption;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage.Encryption;

/// <summary>
/// Two processes on one database reach a namespace's first use together: the one that finds the other half way (its
/// index key written, its data key not yet) finishes the keys instead of failing, and both end up with the same keys.
/// </summary>
public sealed class KeyRingTests : IAsyncLifetime
{
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();
    private readonly MasterKey _master = MasterKey.Ephemeral();

    public async Task InitializeAsync() => await _store.MigrateAsync(4, CancellationToken.None);

    [Fact]
    public async Task ANamespaceWhoseKeysAreHalfWritten_IsFinished_NotRefused()
    {
        // What the other process wrote so far: the index key only.
        var other = new KeyRing(_store.Metadata, _master);
        await _store.Metadata.AddDataKeyAsync(new DataKeyRecord("ns", KeyRing.IndexKeyVersion, _master.Wrap("ns", KeyRing.IndexKeyVersion, new byte[MasterKey.Size]), Retired: false), CancellationToken.None);

        var ring = new KeyRing(_store.Metadata, _master);
        await ring.RefreshAsync(CancellationToken.None); // a refresh meanwhile skips the half-made namespace
        var (version, key) = ring.Current("ns");
        Assert.Equal(1, version);
        Assert.Equal(new byte[MasterKey.Size], ring.IndexKey("ns")); // the other process's index key is kept

        // The other process, arriving second, reads back the same keys.
        Assert.Equal(key, other.Current("ns").Key);
        Assert.Equal(ring.IndexKey("ns"), other.IndexKey("ns"));
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        return Task.CompletedTask;
    }
}
