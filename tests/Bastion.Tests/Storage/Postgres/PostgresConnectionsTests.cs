using Bastion.Storage.Postgres;
using Bastion.Tests.Integration;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>A database that cannot be opened ends start-up with one line naming it (redacted) and the cause.</summary>
public sealed class PostgresConnectionsTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const string WrongPassword = "wrong-Pa55-for-test";

    [Fact]
    public async Task Migrate_WrongPassword_FailsInOneLineWithoutThePassword()
    {
        var server = database.Url;
        var url = DatabaseUrl.Parse($"postgres://{server.Username}:{WrongPassword}@{Bracketed(server.Host)}:{server.Port}/{server.Database}");

        var e = await OpenFailsAsync(url);

        Assert.Equal($"cannot open {url}: password authentication failed for user \"{server.Username}\"", e.Message);
        Assert.DoesNotContain(WrongPassword, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_NothingListening_FailsInOneLineWithoutThePassword()
    {
        var url = database.Url;
        url = DatabaseUrl.Parse($"postgres://{url.Username}:{Uri.EscapeDataString(Password(url))}@127.0.0.1:{ServerProcess.FreePort()}/{url.Database}");

        var e = await OpenFailsAsync(url);

        Assert.Equal($"cannot open {url}: connection refused", e.Message);
        AssertNoPassword(e);
    }

    [Fact]
    public async Task Migrate_MissingDatabase_FailsInOneLineWithoutThePassword()
    {
        var url = database.Url.WithDatabase($"bastion_missing_{Guid.NewGuid():N}");

        var e = await OpenFailsAsync(url);

        Assert.Equal($"cannot open {url}: database \"{url.Database}\" does not exist", e.Message);
        AssertNoPassword(e);
    }

    [Fact]
    public async Task Open_Reachable_ReturnsAnOpenConnection()
    {
        await using var connection = await PostgresConnections.OpenAsync(database.DataSource, CancellationToken.None);

        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
    }

    private static async Task<DatabaseOpenException> OpenFailsAsync(DatabaseUrl url)
    {
        await using var dataSource = url.CreateDataSource();
        var e = await Assert.ThrowsAsync<DatabaseOpenException>(() => PostgresSchema.MigrateAsync(dataSource, CancellationToken.None));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(url.ToString(), e.Database);
        return e;
    }

    private void AssertNoPassword(Exception e) => Assert.DoesNotContain(Password(database.Url), e.Message, StringComparison.Ordinal);

    private static string Password(DatabaseUrl url) => url.ToConnectionStringBuilder().Password!;

    private static string Bracketed(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
}
