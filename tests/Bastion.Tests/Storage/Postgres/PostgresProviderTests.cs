using Bastion.Storage;
using Bastion.Storage.Postgres;
using Npgsql;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>The conformance suite on PostgreSQL: each test gets an empty database of its own on the fixture's server.</summary>
public sealed class PostgresProviderTests(PostgresDatabase database) : StorageProviderConformanceTests, IClassFixture<PostgresDatabase>
{
    private DatabaseUrl? _url;

    private DatabaseUrl Url => _url ?? throw new InvalidOperationException("Not initialized.");

    protected override async Task<IStorageProvider> CreateStoreAsync()
    {
        _url = await database.CreateDatabaseAsync();
        return await PostgresStorageProvider.OpenAsync(_url, CancellationToken.None);
    }

    protected override async Task<IStorageProvider?> OpenSecondWriterAsync() => await PostgresStorageProvider.OpenAsync(Url, CancellationToken.None);

    /// <summary>The provider seals audit records before its statements run: the commit is held after them instead.</summary>
    private protected override IReadOnlyList<PendingAudit> HoldNextCommitInFlight(GateAudit gate)
    {
        ((PostgresStorageProvider)Store).CommitInFlight = () => Task.Run(gate.Hold);
        return [];
    }

    protected override async Task<bool> MarkSchemaNewerAsync()
    {
        await ExecuteAsync("INSERT INTO schema_version (version) SELECT MAX(version) + 1 FROM schema_version;");
        return true;
    }

    protected override async Task<bool> SomeoneWaitsForALockAsync() =>
        // A row lock is waited for as the holder's transaction id, a lock with no database: matched by the waiter's session.
        (long)(await ExecuteAsync("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            + "WHERE a.datname = current_database() AND NOT l.granted;"))! > 0;

    [Fact]
    public async Task Open_UnreachableServer_IsADatabaseOpenException_WithoutThePassword()
    {
        var url = DatabaseUrl.Parse("postgres://bastion:s3cret-pw@127.0.0.1:1/none");

        var e = await Assert.ThrowsAsync<DatabaseOpenException>(() => PostgresStorageProvider.OpenAsync(url, CancellationToken.None));

        Assert.StartsWith("cannot open postgres://bastion@127.0.0.1:1/none: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commit_AfterTheServerDroppedTheWriterConnection_ReconnectsAndCommits()
    {
        var range = await Store.Shards.AcquireRangeAsync(0);
        await Store.CommitAsync(new CommitBatch([new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-a", "a", "acct", [1])) }], []), CancellationToken.None);
        await ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();");

        // The first commit on the dead connection fails; the next one opens a new writer.
        await Assert.ThrowsAnyAsync<Exception>(() => Store.CommitAsync(new CommitBatch([new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-b", "b", "acct", [1])) }], []), CancellationToken.None));
        var result = await Store.CommitAsync(new CommitBatch([new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-c", "c", "acct", [1])) }], []), CancellationToken.None);

        Assert.True(result.Committed);
        Assert.Equal(["a", "c"], (await Store.Metadata.ListNamespacesAsync(CancellationToken.None)).Select(n => n.Name));
        Assert.True(await Store.Shards.AcquireRangeAsync(0) > range);
    }

    private async Task<object?> ExecuteAsync(string sql)
    {
        await using var dataSource = Url.CreateDataSource();
        await using var cmd = dataSource.CreateCommand(sql);
        return await cmd.ExecuteScalarAsync();
    }
}
