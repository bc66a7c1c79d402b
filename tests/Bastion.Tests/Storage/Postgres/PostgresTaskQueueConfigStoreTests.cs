using Bastion.Storage;
using Bastion.Storage.Postgres;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>The task queue configuration store's conformance suite on PostgreSQL: each test gets an empty database of its own.</summary>
public sealed class PostgresTaskQueueConfigStoreTests(PostgresDatabase database) : TaskQueueConfigStoreConformanceTests, IClassFixture<PostgresDatabase>
{
    protected override async Task<IStorageProvider> CreateStoreAsync() =>
        await PostgresStorageProvider.OpenAsync(await database.CreateDatabaseAsync(), CancellationToken.None);
}
