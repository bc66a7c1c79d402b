using System.Globalization;
using Bastion.Cli;
using Bastion.Tests.Integration;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace Bastion.Tests.Cli;

/// <summary>
/// The real <c>bastion</c> executable's <c>server start-dev</c>: a drop-in for <c>temporal server start-dev</c>. It
/// takes every flag Temporal's takes (honouring or reporting it), and refuses anything else before starting.
/// </summary>
public sealed class StartDevCommandTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("bastion-cli-start-dev-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Theory]
    [InlineData("--ip 0.0.0.0", 2, "loopback only")]
    [InlineData("--ip not-an-ip", 2, "is not an IP address")]
    [InlineData("--dynamic-config-value limit.historyCount.error=lots", 2, "limit.historyCount.error")]
    [InlineData("--dynamic-config-value novalue", 2, "expected KEY=VALUE")]
    [InlineData("--log-level loud", 2, "loud")]
    [InlineData("--sqlite-pragma synchronous=off", 2, "drop acknowledged writes")]
    [InlineData("--sqlite-pragma synchronous=NORMAL", 2, "drop acknowledged writes")]
    [InlineData("--sqlite-pragma journal_mode=delete", 2, "WAL mode")]
    [InlineData("--sqlite-pragma cache_size=100", 2, "unsupported SQLite pragma cache_size")]
    [InlineData("--sqlite-pragma wal", 2, "expected PRAGMA=VALUE")]
    [InlineData("--search-attribute Region=Keywords", 2, "expected NAME=TYPE")]
    [InlineData("--search-attribute Region", 2, "expected NAME=TYPE")]
    [InlineData("--search-attribute Region=3", 2, "expected NAME=TYPE")]
    [InlineData("--search-attribute 9Region=Keyword", 2, "\"9Region\" is invalid or reserved")]
    [InlineData("--search-attribute WorkflowId=Keyword", 2, "\"WorkflowId\" is invalid or reserved")]
    [InlineData("--command-timeout soon", 2, "--command-timeout")]
    [InlineData("--metrics-port soon", 2, "soon")]
    [InlineData("--metrics-port 70000", 2, "--metrics-port 70000: expected a port number from 0 to 65535.")]
    public async Task BadArguments_ExitNonZero_SayingWhy(string arguments, int exitCode, string message)
    {
        var (code, output) = await CliProcess.RunInAsync(_directory.FullName, ["server", "start-dev", "--port", "0", .. arguments.Split(' ')]);
        Assert.True(code == exitCode, output);
        Assert.Contains(message, output, StringComparison.Ordinal);
    }

    /// <summary>The case: <c>--db-file</c> used to be ignored and the server ran in memory, losing everything.</summary>
    [Theory]
    [InlineData("--db-file", "data.db")]
    [InlineData("--db-file=data.db")]
    [InlineData("--dbfilename", "data.db")]
    public async Task AMistypedFlag_IsRefused_NamingIt_AndNothingStarts(params string[] mistyped)
    {
        var (exitCode, output) = await CliProcess.RunInAsync(_directory.FullName, ["server", "start-dev", "--port", "0", .. mistyped]);

        // A server that started would run until killed: RunInAsync's bound would fail the test instead.
        Assert.True(exitCode == BastionCommand.UsageError, output);
        Assert.Contains($"'{mistyped[0]}'", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Bastion dev server on", output, StringComparison.Ordinal);
        Assert.Empty(_directory.EnumerateFileSystemInfos());
    }

    /// <summary>
    /// Exactly what sdk-core's ephemeral server (behind the .NET SDK's <c>WorkflowEnvironment.StartLocalAsync</c>, the
    /// TypeScript SDK's <c>createLocal</c>, Python's and Ruby's) passes, in its order, then the extra arguments the
    /// .NET SDK adds for <c>SearchAttributes</c>: with a web UI asked for (<c>--ui-port</c>) and without (<c>--headless</c>).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheSdkLaunchersArguments_StartAServer_WithTheirSearchAttributes(bool ui)
    {
        var port = ServerProcess.FreePort();
        var uiPort = ServerProcess.FreePort();
        var database = Path.Combine(_directory.FullName, "launched.db");
        List<string> arguments =
        [
            "server", "start-dev", "--port", Invariant(port), "--namespace", "default", "--ip", "127.0.0.1", "--log-format", "pretty", "--log-level", "warn",
            "--dynamic-config-value", "frontend.enableServerVersionCheck=false",
            "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true",
            "--dynamic-config-value", "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true",
            "--db-filename", database,
            .. ui ? ["--ui-port", Invariant(uiPort)] : new[] { "--headless" },
            "--search-attribute", "CustomerId=Keyword", "--search-attribute", "Score=Double",
        ];
        using var server = await ServerProcess.StartAsync(port, arguments, ServerProcess.ReadyLine);

        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var listed = await client.Connection.OperatorService.ListSearchAttributesAsync(new() { Namespace = "default" });
        Assert.Equal(IndexedValueType.Keyword, listed.CustomAttributes["CustomerId"]);
        Assert.Equal(IndexedValueType.Double, listed.CustomAttributes["Score"]);
        Assert.True(File.Exists(database));
        if (ui)
        {
            Assert.True(await server.PrintedAsync(l => l.Trim() == $"Web UI:     http://127.0.0.1:{uiPort}"), "the UI is served where the launcher asked");
        }
        else
        {
            Assert.True(await server.PrintedAsync(l => l.Trim() == "Web UI:     off (--headless)"));
        }
    }

    /// <summary>
    /// Every flag of Temporal's <c>server start-dev</c> and its global flags at once, in <c>--flag=value</c> and short
    /// forms: the server starts, honours what applies (file, namespaces, ports, attributes, log config) and reports
    /// each flag it ignores.
    /// </summary>
    [Fact]
    public async Task EveryTemporalStartDevFlag_IsAccepted_HonouredOrReported()
    {
        var port = ServerProcess.FreePort();
        var httpPort = ServerProcess.FreePort();
        var metricsPort = ServerProcess.FreePort();
        var database = Path.Combine(_directory.FullName, "all.db");
        string[] ignored =
        [
            "--ui-ip", "--ui-public-path", "--ui-asset-path", "--ui-codec-endpoint", "--ui-disable-news-fetch",
            "--env", "--env-file", "--config-file", "--profile", "--disable-config-file", "--disable-config-env", "--client-connect-timeout",
            "--output", "--time-format", "--color", "--no-json-shorthand-payloads",
        ];
        string[] arguments =
        [
            "server", "start-dev", $"--db-filename={database}", "-n", "other", "--namespace=third", "-p", Invariant(port), $"--http-port={httpPort}",
            "--metrics-port", Invariant(metricsPort), "--ui-port=9091", "--headless", "--ip=localhost", "--ui-ip", "127.0.0.1", "--ui-public-path", "/ui",
            "--ui-asset-path", "/tmp", "--ui-codec-endpoint", "http://127.0.0.1:8888", "--ui-disable-news-fetch",
            "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma=synchronous=FULL", "--dynamic-config-value=limit.blobSize.error=1000000",
            "--log-config", "--search-attribute=Region=keyword",
            "--env", "prod", "--env-file=env.yaml", "--config-file", "temporal.toml", "--profile", "dev", "--disable-config-file", "--disable-config-env",
            "--log-level=warn", "--log-format", "text", "-o", "json", "--time-format", "iso", "--color=never", "--no-json-shorthand-payloads",
            "--command-timeout", "1h", "--client-connect-timeout", "10s",
        ];
        using var server = await ServerProcess.StartAsync(port, arguments, ServerProcess.ReadyLine, _directory.FullName);

        Assert.True(File.Exists(database));
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "third" });
        await client.Connection.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "other" });
        var listed = await client.Connection.OperatorService.ListSearchAttributesAsync(new() { Namespace = "third" });
        Assert.Equal(IndexedValueType.Keyword, listed.CustomAttributes["Region"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        Assert.Contains("\"name\":\"default\"", await http.GetStringAsync("/api/v1/namespaces/default"), StringComparison.Ordinal);
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
        Assert.Contains("service_requests{", await metrics.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.True(await server.PrintedAsync(l => l == "search-attributes: Region=Keyword"), "--log-config prints the settings");
        foreach (var flag in ignored)
        {
            Assert.True(await server.PrintedAsync(l => l.StartsWith($"Ignoring {flag}: ", StringComparison.Ordinal)), flag);
        }
    }

    [Fact]
    public async Task CommandTimeout_StopsTheServer_AfterThatLong()
    {
        var (exitCode, output) = await CliProcess.RunInAsync(_directory.FullName, ["server", "start-dev", "--port", "0", "--command-timeout", "1s"]);
        Assert.True(exitCode == 0, output);
        Assert.Contains(ServerProcess.ReadyLine, output, StringComparison.Ordinal);
    }

    /// <summary>Restarting on the same file with the same attributes is fine; with a changed type it is refused, naming it.</summary>
    [Fact]
    public async Task SearchAttributes_OnAnExistingDatabase_KeepTheirType()
    {
        string[] start = ["server", "start-dev", "--port", "0", "-f", "kept.db", "--command-timeout", "1s"];
        var first = await CliProcess.RunInAsync(_directory.FullName, [.. start, "--search-attribute", "Region=Keyword"]);
        Assert.True(first.ExitCode == 0, first.Output);
        var again = await CliProcess.RunInAsync(_directory.FullName, [.. start, "--search-attribute", "Region=Keyword", "--search-attribute", "Tier=Int"]);
        Assert.True(again.ExitCode == 0, again.Output);

        var changed = await CliProcess.RunInAsync(_directory.FullName, [.. start, "--search-attribute", "Region=Int"]);
        Assert.True(changed.ExitCode == BastionCommand.UsageError, changed.Output);
        Assert.Contains("--search-attribute, namespace default: Search attribute \"Region\" already exists with type Keyword.", changed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpPort_ServesTheHttpApi_OnLoopback()
    {
        var httpPort = ServerProcess.FreePort();
        using var server = await ServerProcess.StartAsync(ServerProcess.FreePort(), Path.Combine(_directory.FullName, "b.db"), httpPort);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        var info = await http.GetStringAsync("/api/v1/namespaces/default");
        Assert.Contains("\"name\":\"default\"", info, StringComparison.Ordinal);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
