using Bastion.Tests.Integration;

namespace Bastion.Tests.Cli;

/// <summary>
/// The real <c>bastion</c> executable: certificate tooling, namespaces created on the database file, a production
/// server started from a config file, and the official SDK connecting with the certificates the CLI made.
/// </summary>
public sealed class TlsCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-cli-tls-").FullName;

    [Fact]
    public async Task CertsNamespaceAndServerStart_FromAConfigFile_LetTheSdkConnectWithMutualTls()
    {
        Assert.Equal(0, (await RunAsync("certs", "ca", "create", "--cn", "Server CA", "--cert-file", "server-ca.pem", "--key-file", "server-ca.key")).ExitCode);
        Assert.Equal(0, (await RunAsync("certs", "server", "create", "--ca", "server-ca.pem", "--dns", "example.test", "--dns", "*.acme.example.test")).ExitCode);
        Assert.Equal(0, (await RunAsync("certs", "ca", "create", "--cn", "Payments CA")).ExitCode);
        Assert.Equal(0, (await RunAsync("certs", "client", "create", "--ca", "ca.pem", "--cn", "worker-1", "-o", "Acme")).ExitCode);
        var port = ServerProcess.FreePort();
        var uiPort = ServerProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "bastion.json"), $$"""
            { "db-filename": "bastion.db", "account": "acme", "base-domain": "example.test",
              "tls-cert-file": "server.pem", "tls-key-file": "server.key", "port": {{port}}, "log-level": "warn",
              "ui-port": {{uiPort}}, "ui-session-idle-timeout": "15m" }
            """);
        using var server = await ServerProcess.StartAsync(port, ["server", "start", "--config", "bastion.json"], ServerProcess.ReadyLine, _directory);

        // The web UI, over TLS 1.3 with the server certificate, asking the browser to sign in.
        Assert.True(await server.PrintedAsync(line => line.Contains($"Web UI:     https://127.0.0.1:{uiPort}", StringComparison.Ordinal)), string.Join("\n", server.Output));
        using var serverCa = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(await ReadAsync("server-ca.pem"));
        using var https = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new()
            {
                EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, errors) =>
                    Security.Tls.TestPki.ServerChainsTo(serverCa, presented, errors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch),
            },
        });
        var settings = await https.GetStringAsync(new Uri($"https://127.0.0.1:{uiPort}/api/v1/settings"));
        Assert.Contains("\"Auth\":{\"Enabled\":true", settings, StringComparison.Ordinal);

        // Created while the server runs: the server finds it when a client first addresses its host.
        var created = await RunAsync("namespace", "create", "-f", "bastion.db", "--account", "acme", "-n", "payments",
            "--ca-certificate-file", "ca.pem", "--certificate-filter", "cn=worker-*;o=acme");
        Assert.True(created.ExitCode == 0, created.Output);

        var client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(server.Address)
        {
            Namespace = "payments.acme",
            Tls = new TlsOptions
            {
                ServerRootCACert = await ReadAsync("server-ca.pem"),
                Domain = "payments.acme.example.test",
                ClientCert = await ReadAsync("client.pem"),
                ClientPrivateKey = await ReadAsync("client.key"),
            },
        });
        var handle = await client.StartWorkflowAsync("Anything", [], new("cli-tls-1", "tq"));
        Assert.Equal("cli-tls-1", (await handle.DescribeAsync()).Id);

        var described = await RunAsync("namespace", "describe", "-f", "bastion.db", "--account", "acme", "-n", "payments");
        Assert.Contains("CN=Payments CA", described.Output, StringComparison.Ordinal);
        Assert.Contains("cn=worker-*;o=acme", described.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamespaceCreate_WithABadBundleOrFilter_IsRefusedNamingTheProblem()
    {
        Assert.Equal(0, (await RunAsync("certs", "ca", "create")).ExitCode);
        await File.WriteAllTextAsync(Path.Combine(_directory, "not-a-ca.pem"), "nothing here");
        var badBundle = await RunAsync("namespace", "create", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--ca-certificate-file", "not-a-ca.pem");
        Assert.Equal(2, badBundle.ExitCode);
        Assert.Contains("no PEM certificate", badBundle.Output, StringComparison.Ordinal);

        var badFilter = await RunAsync("namespace", "create", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--ca-certificate-file", "ca.pem", "--certificate-filter", "cn=a*b");
        Assert.Equal(2, badFilter.ExitCode);
        Assert.Contains("only at its start or its end", badFilter.Output, StringComparison.Ordinal);

        var clientWithoutCa = await RunAsync("certs", "client", "create", "--ca", "missing.pem", "--cn", "x");
        Assert.NotEqual(0, clientWithoutCa.ExitCode);
    }

    [Theory]
    [InlineData("--ip 0.0.0.0", "Refusing to serve plaintext on 0.0.0.0")]
    [InlineData("--ip 0.0.0.0 --tls-cert-file s.pem", "--tls-cert-file and --tls-key-file go together")]
    [InlineData("--tls-cert-file s.pem --tls-key-file s.key", "--base-domain is required with TLS")]
    [InlineData("--log-level loud", "--log-level loud: expected debug, info, warn, error or never.")]
    [InlineData("--log-format xml", "--log-format xml: expected pretty, text or json.")]
    [InlineData("--ui-port 0 --ui-session-timeout soon", "--ui-session-timeout \"soon\": expected a duration")]
    [InlineData("--ui-port 0 --ui-session-idle-timeout 9h", "idle timeout (09:00:00) is longer than its absolute timeout (08:00:00)")]
    public async Task ServerStart_RefusesUnsafeOrIncompleteSettings_SayingWhy(string arguments, string message)
    {
        var result = await RunAsync(["server", "start", "--db-filename", "x.db", "--account", "acme", .. arguments.Split(' ')]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStart_TakesSettingsFromTheEnvironment_AndRefusesUnknownConfigKeys()
    {
        var fromEnvironment = await RunAsync(["server", "start", "--db-filename", "x.db", "--account", "acme"], ("BASTION_IP", "10.1.2.3"));
        Assert.Equal(2, fromEnvironment.ExitCode);
        Assert.Contains("Refusing to serve plaintext on 10.1.2.3", fromEnvironment.Output, StringComparison.Ordinal);

        await File.WriteAllTextAsync(Path.Combine(_directory, "typo.json"), """{ "tls-cert": "server.pem" }""");
        var typo = await RunAsync("server", "start", "--config", "typo.json");
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains("unknown setting \"tls-cert\"", typo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartDevWithTls_CreatesALocalCa_AndTheSdkConnectsWithAndWithoutAClientCertificate()
    {
        var port = ServerProcess.FreePort();
        var tlsDirectory = Path.Combine(_directory, "dev-tls");
        using var server = await ServerProcess.StartAsync(port, ["server", "start-dev", "--port", $"{port}", "--tls", "--tls-dir", tlsDirectory, "--log-level", "warn", "--headless"], ServerProcess.ReadyLine);
        Assert.True(await server.PrintedAsync(line => line.Contains("--tls-server-name default.local.localhost", StringComparison.Ordinal)), string.Join("\n", server.Output));
        var ca = await File.ReadAllBytesAsync(Path.Combine(tlsDirectory, "ca.pem"));

        var loopback = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(server.Address)
        {
            Namespace = "default",
            Tls = new TlsOptions { ServerRootCACert = ca, Domain = "localhost" },
        });
        await loopback.StartWorkflowAsync("Anything", [], new("dev-tls-1", "tq"));

        var mutual = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(server.Address)
        {
            Namespace = "default",
            Tls = new TlsOptions
            {
                ServerRootCACert = ca,
                Domain = "default.local.localhost",
                ClientCert = await File.ReadAllBytesAsync(Path.Combine(tlsDirectory, "client.pem")),
                ClientPrivateKey = await File.ReadAllBytesAsync(Path.Combine(tlsDirectory, "client.key")),
            },
        });
        Assert.Equal("dev-tls-1", (await mutual.GetWorkflowHandle("dev-tls-1").DescribeAsync()).Id);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task<byte[]> ReadAsync(string file) => File.ReadAllBytesAsync(Path.Combine(_directory, file));

    private Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => RunAsync(arguments, []);

    private Task<(int ExitCode, string Output)> RunAsync(string[] arguments, params (string Name, string Value)[] environment) =>
        CliProcess.RunInAsync(_directory, arguments, environment);
}
