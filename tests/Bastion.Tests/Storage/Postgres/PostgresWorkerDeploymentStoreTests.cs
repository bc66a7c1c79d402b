using Bastion.Storage;
using Bastion.Storage.Postgres;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>The worker deployment store's conformance suite on PostgreSQL: each test gets an empty database of its own.</summary>
public sealed class PostgresWorkerDeploymentStoreTests(PostgresDatabase database) : WorkerDeploymentStoreConformanceTests, IClassFixture<PostgresDatabase>
{
    protected override async Task<IStorageProvider> CreateStoreAsync() =>
        await PostgresStorageProvider.OpenAsync(await database.CreateDatabaseAsync(), CancellationToken.None);
}
