using Bastion.Tests.Storage.Postgres;

namespace Bastion.Tests.Cli;

/// <summary>
/// The <c>bastion</c> executable on a real PostgreSQL server: refused credentials and a missing database end the
/// command with one line and exit 1; the operator commands work on the database; encryption needs a master key
/// source. The password never appears in the output.
/// </summary>
public sealed class PostgresCommandTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static string Password => PostgresDatabase.ServerPassword;

    [Fact]
    public async Task AWrongPassword_EndsServerStart_WithOneLine_AndExitCode1()
    {
        var url = $"postgres://{database.Url.Username}:wrong-Pw-4711@{database.Url.Host}:{database.Url.Port}/{database.Url.Database}";

        var (exit, output, error) = await CliProcess.RunAsync("server", "start", "--account", "acme", "--encryption", "off", "--database-url", url);

        Assert.Equal(1, exit);
        Assert.Equal($"cannot open {database.Url}: password authentication failed for user \"{database.Url.Username}\"", error.Trim());
        Assert.DoesNotContain("wrong-Pw-4711", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingDatabase_EndsServerStartDev_WithOneLine_AndExitCode1()
    {
        var (exit, output, error) = await CliProcess.RunAsync("server", "start-dev", "--headless", "--port", "0", "--encryption", "off", "--database-url", UrlOf("bastion_no_such_db"));

        Assert.Equal(1, exit);
        Assert.Equal($"cannot open {database.Url.WithDatabase("bastion_no_such_db")}: database \"bastion_no_such_db\" does not exist", error.Trim());
        Assert.DoesNotContain(Password, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStart_WithEncryption_RequiresAMasterKeySource()
    {
        var (exit, output, error) = await CliProcess.RunAsync("server", "start", "--account", "acme", "--database-url", UrlOf(database.Url.Database));

        Assert.Equal(2, exit);
        Assert.Contains(
            "A PostgreSQL database has no default master key file: give --master-key-file, BASTION_MASTER_KEY (base64) or --master-key-command.",
            error, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperatorCommands_WorkOnThePostgresDatabase()
    {
        var url = UrlOf((await database.CreateDatabaseAsync()).Database);

        var created = await CliProcess.RunAsync("namespace", "create", "-n", "payments", "--account", "acme", "--database-url", url);
        var described = await CliProcess.RunAsync("namespace", "describe", "-n", "payments", "--account", "acme", "--database-url", url);
        var verified = await CliProcess.RunInAsync(Path.GetTempPath(), ["audit", "verify"], ("BASTION_DATABASE_URL", url));

        Assert.Equal(0, created.ExitCode);
        Assert.StartsWith("Created namespace payments.acme.", created.Output, StringComparison.Ordinal);
        Assert.Equal(0, described.ExitCode);
        Assert.Contains("Namespace:  payments.acme", described.Output, StringComparison.Ordinal);
        Assert.Equal(0, verified.ExitCode);
        Assert.Contains("intact", verified.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, created.Output + created.Error + described.Output + described.Error + verified.Output, StringComparison.Ordinal);
    }

    private static string UrlOf(string name) => PostgresDatabase.UrlText(name);
}
