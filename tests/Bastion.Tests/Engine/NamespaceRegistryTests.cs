using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Engine;

/// <summary>Namespaces and their TLS policies are durable and reach another process on the same database.</summary>
public sealed class NamespaceRegistryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-ns-").FullName;

    [Fact]
    public void AChangeByAnotherProcess_IsPickedUpByRefresh_WithItsTlsPolicy()
    {
        var file = Path.Combine(_directory, "db.sqlite");
        using var serverStore = SqliteExecutionStore.OpenFile(file);
        serverStore.Initialize(4);
        var server = new NamespaceRegistry(serverStore, TimeProvider.System);
        server.Load();
        using var cliStore = SqliteExecutionStore.OpenFile(file);
        var cli = new NamespaceRegistry(cliStore, TimeProvider.System);
        cli.Load();

        var policy = new NamespaceTlsPolicy { CaBundlePem = "PEM", Filters = [new CertificateFilter("worker-*", Organization: "Acme")], CrlFile = "/etc/crl.pem" };
        var created = cli.Create("payments", "acme", TimeSpan.FromDays(3), policy);
        Assert.False(server.TryResolve("payments.acme", out _));
        Assert.Equal("payments.acme", Assert.Single(server.Refresh()).FullName);
        Assert.True(server.TryResolve("payments.acme", out var seen));
        Assert.Equal(policy.Filters, seen!.Tls!.Filters);
        Assert.Equal("/etc/crl.pem", seen.Tls.CrlFile);
        Assert.Empty(server.Refresh()); // unchanged: nothing reported

        cli.SetTls(created, null);
        Assert.Null(Assert.Single(server.Refresh()).Tls);

        var error = Assert.Throws<ServiceException>(() => cli.Create("payments", "acme", TimeSpan.FromDays(1), null));
        Assert.Equal(ErrorKind.AlreadyExists, error.Kind);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
