using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Engine;

/// <summary>Namespaces and their TLS policies are durable and reach another process on the same database.</summary>
public sealed class NamespaceRegistryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-ns-").FullName;

    [Fact]
    public async Task AChangeByAnotherProcess_IsPickedUpByRefresh_WithItsTlsPolicy()
    {
        var file = Path.Combine(_directory, "db.sqlite");
        using var serverStore = SqliteStorageProvider.OpenFile(file);
        await serverStore.MigrateAsync(4, CancellationToken.None);
        await using var serverCommitter = new GroupCommitter(serverStore, AuditRecordCodec.Plain);
        var server = new NamespaceRegistry(serverStore, serverCommitter, TimeProvider.System);
        await server.LoadAsync(CancellationToken.None);
        using var cliStore = SqliteStorageProvider.OpenFile(file);
        await using var cliCommitter = new GroupCommitter(cliStore, AuditRecordCodec.Plain);
        var cli = new NamespaceRegistry(cliStore, cliCommitter, TimeProvider.System);
        await cli.LoadAsync(CancellationToken.None);

        var policy = new NamespaceTlsPolicy { CaBundlePem = "PEM", Filters = [new CertificateFilter("worker-*", Organization: "Acme")], CrlFile = "/etc/crl.pem" };
        var created = await cli.CreateAsync("payments", "acme", TimeSpan.FromDays(3), policy);
        Assert.False(server.TryResolve("payments.acme", out _));
        Assert.Equal("payments.acme", Assert.Single(await server.RefreshAsync(CancellationToken.None)).FullName);
        Assert.True(server.TryResolve("payments.acme", out var seen));
        Assert.Equal(policy.Filters, seen!.Tls!.Filters);
        Assert.Equal("/etc/crl.pem", seen.Tls.CrlFile);
        Assert.Empty(await server.RefreshAsync(CancellationToken.None)); // unchanged: nothing reported

        await cli.SetTlsAsync(created, null);
        Assert.Null(Assert.Single(await server.RefreshAsync(CancellationToken.None)).Tls);

        var error = await Assert.ThrowsAsync<ServiceException>(() => cli.CreateAsync("payments", "acme", TimeSpan.FromDays(1), null));
        Assert.Equal(ErrorKind.AlreadyExists, error.Kind);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
