using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage;

/// <summary>What every provider's task queue configuration store must do (issue 21); subclassed once per backend.</summary>
public abstract class TaskQueueConfigStoreConformanceTests : IAsyncLifetime
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
    public async Task Configs_AreCreatedAndUpdated_OnlyAtTheirStoredVersion()
    {
        Assert.Null(await CommitAsync(Write("ns-1", "q/2", version: 1, expected: 0, data: 1)));
        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ns-1", "q/2", version: 1, expected: 0, data: 2))); // exists
        Assert.Null(await CommitAsync(Write("ns-1", "q/2", version: 2, expected: 1, data: 3)));
        Assert.IsType<ConditionFailedException>(await CommitAsync(Write("ns-1", "q/2", version: 2, expected: 1, data: 4))); // stale

        var stored = Assert.Single(await Store.TaskQueueConfigs.ListTaskQueueConfigsAsync(CancellationToken.None));
        Assert.Equal(("ns-1", "q/2", 2L), (stored.NamespaceId, stored.Key, stored.Version));
        Assert.Equal([3], stored.Data);
    }

    [Fact]
    public async Task ConfigKeys_AreUniqueWithinANamespace_NotAcrossNamespaces()
    {
        Assert.Null(await CommitAsync(Write("ns-1", "q/1", version: 1, expected: 0, data: 1)));
        Assert.Null(await CommitAsync(Write("ns-2", "q/1", version: 1, expected: 0, data: 2)));
        Assert.Null(await CommitAsync(Write("ns-1", "q/2", version: 1, expected: 0, data: 3)));

        var stored = await Store.TaskQueueConfigs.ListTaskQueueConfigsAsync(CancellationToken.None);
        Assert.Equal(["ns-1/q/1", "ns-1/q/2", "ns-2/q/1"], stored.Select(d => $"{d.NamespaceId}/{d.Key}"));
    }

    [Fact]
    public async Task ARejectedConfigWrite_TakesItsWholeBatchBack_AndNamesOnlyItself()
    {
        var result = await Store.CommitAsync(
            new CommitBatch(
                [
                    new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("ns-1", "alpha", "acct", [1])) },
                    Write("ns-1", "missing/2", version: 2, expected: 1, data: 1),
                ],
                []),
            CancellationToken.None);

        Assert.Equal([false, true], result.Rejected.Select(r => r is not null));
        Assert.Empty(await Store.Metadata.ListNamespacesAsync(CancellationToken.None));
        Assert.Empty(await Store.TaskQueueConfigs.ListTaskQueueConfigsAsync(CancellationToken.None));
    }

    private static Transition Write(string namespaceId, string key, long version, long expected, byte data) =>
        new([]) { TaskQueueConfig = new TaskQueueConfigWrite(new TaskQueueConfigRecord(namespaceId, key, version, [data]), expected) };

    /// <summary>Commits one transition; its rejection, or null when committed.</summary>
    private async Task<Exception?> CommitAsync(Transition transition) =>
        Assert.Single((await Store.CommitAsync(new CommitBatch([transition], []), CancellationToken.None)).Rejected);
}

public sealed class SqliteFileTaskQueueConfigStoreTests : TaskQueueConfigStoreConformanceTests, IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"bastion-queue-configs-{Guid.NewGuid():N}.db");

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

public sealed class SqliteMemoryTaskQueueConfigStoreTests : TaskQueueConfigStoreConformanceTests
{
    protected override Task<IStorageProvider> CreateStoreAsync() => Task.FromResult<IStorageProvider>(SqliteStorageProvider.OpenInMemory());
}
