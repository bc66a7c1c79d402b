namespace Bastion.Tests.Cli;

/// <summary>
/// <c>--database-url</c> errors that need no database: a URL with a file, a malformed URL (usage errors, exit 2), a
/// server that does not answer (exit 1, one line). The password never appears in the output.
/// </summary>
public sealed class DatabaseUrlUsageTests
{
    private const string Password = "pw-Zq81-secret";
    private const string Unreachable = $"postgres://bastion:{Password}@127.0.0.1:1/bastion";

    [Theory]
    [InlineData("server", "start", "--account", "acme", "--db-filename", "x.db", "--database-url", Unreachable)]
    [InlineData("server", "start-dev", "--db-filename", "x.db", "--database-url", Unreachable)]
    [InlineData("namespace", "describe", "-n", "a", "--account", "acme", "-f", "x.db", "--database-url", Unreachable)]
    [InlineData("audit", "verify", "-f", "x.db", "--database-url", Unreachable)]
    [InlineData("keys", "list", "-f", "x.db", "--database-url", Unreachable)]
    [InlineData("operator", "list", "-f", "x.db", "--database-url", Unreachable)]
    public async Task AFileAndAUrl_IsAUsageError(params string[] arguments)
    {
        var (exit, output, error) = await CliProcess.RunAsync(arguments);

        Assert.Equal(2, exit);
        Assert.Contains("both choose the database; give one of them", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, output + error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server", "start", "--account", "acme", "--database-url")]
    [InlineData("server", "start-dev", "--database-url")]
    [InlineData("audit", "verify", "--database-url")]
    [InlineData("operator", "list", "--database-url")]
    public async Task AMalformedUrl_IsAUsageError_WithoutThePassword(params string[] arguments)
    {
        var (exit, output, error) = await CliProcess.RunAsync([.. arguments, $"postgres://bastion:{Password}@db.example:99999/bastion"]);

        Assert.Equal(2, exit);
        Assert.Contains("--database-url: The database URL is not valid: the port is not a number from 1 to 65535.", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, output + error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server", "start", "--account", "acme", "--encryption", "off", "--database-url", Unreachable)]
    [InlineData("server", "start-dev", "--headless", "--port", "0", "--database-url", Unreachable)]
    [InlineData("namespace", "describe", "-n", "a", "--account", "acme", "--database-url", Unreachable)]
    [InlineData("audit", "verify", "--database-url", Unreachable)]
    [InlineData("keys", "list", "--database-url", Unreachable)]
    public async Task AnUnreachableServer_EndsTheCommand_WithOneLine_AndExitCode1(params string[] arguments)
    {
        var (exit, output, error) = await CliProcess.RunAsync(arguments);

        Assert.Equal(1, exit);
        Assert.Equal("cannot open postgres://bastion@127.0.0.1:1/bastion: connection refused", error.Trim());
        Assert.DoesNotContain(Password, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStart_TakesTheUrlFromTheEnvironment()
    {
        var (exit, output) = await CliProcess.RunInAsync(
            Path.GetTempPath(), ["server", "start", "--account", "acme", "--encryption", "off"], ("BASTION_DATABASE_URL", Unreachable));

        Assert.Equal(1, exit);
        Assert.Contains("cannot open postgres://bastion@127.0.0.1:1/bastion: connection refused", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStart_TakesTheUrlFromTheConfigFile()
    {
        var config = Path.Combine(Path.GetTempPath(), $"bastion-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""{"account": "acme", "encryption": "off", "database-url": "{{Unreachable}}"}""");
        try
        {
            var (exit, output, error) = await CliProcess.RunAsync("server", "start", "--config", config);

            Assert.Equal(1, exit);
            Assert.Contains("cannot open postgres://bastion@127.0.0.1:1/bastion: connection refused", error, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, output + error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task ServerStart_WithoutAFileOrAUrl_IsAUsageError_NamingBoth()
    {
        var (exit, _, error) = await CliProcess.RunAsync("server", "start", "--account", "acme");

        Assert.Equal(2, exit);
        Assert.Contains("--db-filename or --database-url is required", error, StringComparison.Ordinal);
    }
}
