using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage;

/// <summary>What every provider's Nexus endpoint store must do (issue 19); subclassed once per backend.</summary>
public abstract class NexusEndpointStoreConformanceTests : IAsyncLifetime
{
    private IStorageProvider? _store;

    protected IStorageProvider Store => _store ?? throw new InvalidOperationException("Not initialized.");

    protected abstract Task<IStorageProvider> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.MigrateAsync(2, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Endpoints_AreCreatedUpdatedAndDeleted_OnlyAtTheirStoredVersion()
    {
        Assert.Null(await CommitAsync(Write("ep-1", "acct", "orders", version: 1, expected: 0, data: 1)));
        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ep-1", "acct", "orders", version: 1, expected: 0, data: 2))); // the id exists
        Assert.Null(await CommitAsync(Write("ep-1", "acct", "orders-v2", version: 2, expected: 1, data: 3)));
        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ep-1", "acct", "orders-v3", version: 2, expected: 1, data: 4))); // stale

        var stored = Assert.Single(await Store.NexusEndpoints.ListNexusEndpointsAsync(CancellationToken.None));
        Assert.Equal(("ep-1", "acct", "orders-v2", 2L), (stored.Id, stored.Account, stored.Name, stored.Version));
        Assert.Equal([3], stored.Data);

        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ep-1", "acct", "orders-v2", version: 2, expected: 1, data: 3, deletes: true)));
        Assert.Single(await Store.NexusEndpoints.ListNexusEndpointsAsync(CancellationToken.None));
        Assert.Null(await CommitAsync(Write("ep-1", "acct", "orders-v2", version: 2, expected: 2, data: 3, deletes: true)));
        Assert.Empty(await Store.NexusEndpoints.ListNexusEndpointsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task EndpointNames_AreUniqueWithinAnAccount_NotAcrossAccounts()
    {
        Assert.Null(await CommitAsync(Write("ep-a", "acct", "payments", version: 1, expected: 0, data: 1)));
        Assert.Null(await CommitAsync(Write("ep-b", "other", "payments", version: 1, expected: 0, data: 1)));
        Assert.Null(await CommitAsync(Write("ep-c", "acct", "billing", version: 1, expected: 0, data: 1)));

        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ep-d", "acct", "payments", version: 1, expected: 0, data: 1)));
        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ep-c", "acct", "payments", version: 2, expected: 1, data: 2))); // a rename onto a taken name

        var stored = await Store.NexusEndpoints.ListNexusEndpointsAsync(CancellationToken.None);
        Assert.Equal(["acct/billing/1", "acct/payments/1", "other/payments/1"], stored.Select(e => $"{e.Account}/{e.Name}/{e.Version}"));
    }

    [Fact]
    public async Task ARejectedEndpointWrite_TakesItsWholeBatchBack_AndNamesOnlyItself()
    {
        var result = await Store.CommitAsync(
            new CommitBatch(
                [
                    new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("ns-1", "alpha", "acct", [1])) },
                    Write("ep-x", "acct", "missing", version: 2, expected: 1, data: 1),
                ],
                []),
            CancellationToken.None);

        Assert.Equal([false, true], result.Rejected.Select(r => r is not null));
        Assert.Empty(await Store.Metadata.ListNamespacesAsync(CancellationToken.None));
        Assert.Empty(await Store.NexusEndpoints.ListNexusEndpointsAsync(CancellationToken.None));
    }

    private static Transition Write(string id, string account, string name, long version, long expected, byte data, bool deletes = false) =>
        new([]) { NexusEndpoint = new NexusEndpointWrite(new NexusEndpointRecord(id, account, name, version, [data]), expected, deletes) };

    /// <summary>Commits one transition; its rejection, or null when committed.</summary>
    private async Task<Exception?> CommitAsync(Transition transition) =>
        Assert.Single((await Store.CommitAsync(new CommitBatch([transition], []), CancellationToken.None)).Rejected);
}

public sealed class SqliteFileNexusEndpointStoreTests : NexusEndpointStoreConformanceTests, IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"bastion-nexus-{Guid.NewGuid():N}.db");

    protected override Task<IStorageProvider> CreateStoreAsync() => Task.FromResult<IStorageProvider>(SqliteStorageProvider.OpenFile(_path));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }
}

public sealed class SqliteMemoryNexusEndpointStoreTests : NexusEndpointStoreConformanceTests
{
    protected override Task<IStorageProvider> CreateStoreAsync() => Task.FromResult<IStorageProvider>(SqliteStorageProvider.OpenInMemory());
}
