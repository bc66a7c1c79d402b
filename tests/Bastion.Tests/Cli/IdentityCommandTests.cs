using System.Text.Json;
using Bastion.Security.Identity;
using Bastion.Tests.Integration;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Tests.Cli;

/// <summary>
/// The real <c>bastion</c> executable against a real production (TLS) server process: the identity commands over
/// the Cloud Ops API, operator grants on the database file, and no API-key secret in the server's debug log or audit export.
/// </summary>
public sealed class IdentityCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-cli-identity-").FullName;
    private string[] _connection = [];

    [Fact]
    public async Task IdentityCommands_ManageUsersKeysGroupsAndServiceAccounts_OverTheCloudOpsApi()
    {
        using var server = await StartServerAsync("warn");
        var owner = OwnerKey(server);

        var created = await RunAsync(owner, "user", "create", "--email", "dev@acme.test", "--role", "developer");
        Assert.True(created.ExitCode == 0, created.Output);
        var userId = created.Output.Split("Created user ")[1].Split('.')[0];
        var table = await RunAsync(owner, "user", "list");
        Assert.Contains(table.Output.Split('\n'), line => line.Contains(userId, StringComparison.Ordinal) && line.Contains("dev@acme.test", StringComparison.Ordinal) && line.Contains("developer", StringComparison.Ordinal));
        using (var json = JsonDocument.Parse((await RunAsync(owner, "user", "get", "--id", userId, "-o", "json")).Output))
        {
            Assert.Equal("dev@acme.test", json.RootElement.GetProperty("spec").GetProperty("email").GetString());
        }

        var keyCreated = await RunAsync(owner, "apikey", "create", "--owner-id", userId, "--duration", "30d", "--display-name", "laptop");
        Assert.True(keyCreated.ExitCode == 0, keyCreated.Output);
        var token = keyCreated.Output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("bst_", StringComparison.Ordinal));
        var keyId = ApiKeyToken.Parse(token).PublicId;
        Assert.Equal(0, (await RunAsync(token, "user", "list")).ExitCode);
        var keys = await RunAsync(owner, "apikey", "list", "--owner-id", userId);
        Assert.Contains(keyId, keys.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(token, keys.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(owner, "apikey", "disable", "--id", keyId)).ExitCode);
        var refused = await RunAsync(token, "user", "list");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("is disabled", refused.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync(owner, "apikey", "enable", "--id", keyId)).ExitCode);
        Assert.Equal(0, (await RunAsync(token, "user", "list")).ExitCode);

        var group = await RunAsync(owner, "group", "create", "--name", "payments-readers", "--namespace-access", "payments.acme=read");
        Assert.True(group.ExitCode == 0, group.Output);
        var groupId = group.Output.Split("Created user group ")[1].Split('.')[0];
        Assert.Equal(0, (await RunAsync(owner, "group", "add-member", "--id", groupId, "--user-id", userId)).ExitCode);
        Assert.Contains(userId, (await RunAsync(owner, "group", "members", "--id", groupId)).Output, StringComparison.Ordinal);
        Assert.Contains("payments.acme=read", (await RunAsync(owner, "group", "list")).Output, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(owner, "service-account", "create", "--name", "ci", "--namespace", "payments.acme", "--permission", "write")).ExitCode);
        Assert.Contains("payments.acme=write (scoped)", (await RunAsync(owner, "service-account", "list")).Output, StringComparison.Ordinal);

        var noKey = await CliProcess.RunInAsync(_directory, ["user", "list", .. _connection]);
        Assert.Equal(2, noKey.ExitCode);
        Assert.Contains("BASTION_API_KEY", noKey.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperatorGrant_RefusesLongOrUnexplainedGrants_AndItsKeyReachesTheRunningServer()
    {
        using var server = await StartServerAsync("warn");
        string[] grant = ["operator", "grant", "-f", "bastion.db", "--namespace", "payments.acme", "--operator", "erin"];

        var tooLong = await CliProcess.RunInAsync(_directory, [.. grant, "--reason", "INC-1", "--duration", "9h"]);
        Assert.Equal(2, tooLong.ExitCode);
        Assert.Contains("at most 8 hours", tooLong.Output, StringComparison.Ordinal);
        var noReason = await CliProcess.RunInAsync(_directory, [.. grant, "--duration", "1h"]);
        Assert.NotEqual(0, noReason.ExitCode);
        Assert.Contains("--reason", noReason.Output, StringComparison.Ordinal);

        var granted = await CliProcess.RunInAsync(_directory, [.. grant, "--reason", "INC-2: stuck workflows", "--duration", "1h"]);
        Assert.True(granted.ExitCode == 0, granted.Output);
        var token = granted.Output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("bst_", StringComparison.Ordinal));
        var client = await TemporalClient.ConnectAsync(new(server.Address)
        {
            Namespace = "payments.acme",
            ApiKey = token,
            Tls = new TlsOptions { ServerRootCACert = await File.ReadAllBytesAsync(Path.Combine(_directory, "server-ca.pem")), Domain = "example.test" },
        });
        Assert.Equal(0, (await client.CountWorkflowsAsync("WorkflowType = 'x'")).Count);
        Assert.Contains("INC-2: stuck workflows", (await CliProcess.RunInAsync(_directory, ["operator", "list", "-f", "bastion.db"])).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerDebugLogAndAuditExport_NeverCarryAnApiKeySecret()
    {
        var server = await StartServerAsync("debug");
        string token;
        using (server)
        {
            var tls = new TlsOptions { ServerRootCACert = await File.ReadAllBytesAsync(Path.Combine(_directory, "server-ca.pem")), Domain = "example.test" };
            var ops = await TemporalCloudOperationsClient.ConnectAsync(new(OwnerKey(server)) { TargetHost = server.Address, Tls = tls, Version = "2024-10-01-00" });
            var account = await ops.CloudService.CreateServiceAccountAsync(new CreateServiceAccountRequest
            {
                Spec = new ServiceAccountSpec { Name = "ci", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Read } } },
            });
            var key = await ops.CloudService.CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Spec = new ApiKeySpec { OwnerId = account.ServiceAccountId, OwnerType = OwnerType.ServiceAccount, ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) },
            });
            token = key.Token;
            var asKey = await TemporalCloudOperationsClient.ConnectAsync(new(token) { TargetHost = server.Address, Tls = tls, Version = "2024-10-01-00" });
            Assert.Equal(account.ServiceAccountId, (await asKey.CloudService.GetCurrentIdentityAsync(new GetCurrentIdentityRequest())).ServiceAccount.Id);
            var wrongSecret = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                TemporalCloudOperationsClient.ConnectAsync(new(token[..^4] + "AAAA") { TargetHost = server.Address, Tls = tls, Version = "2024-10-01-00" }));
            Assert.Contains("Unauthenticated", wrongSecret.Message, StringComparison.Ordinal);
            await ops.CloudService.DeleteApiKeyAsync(new DeleteApiKeyRequest { KeyId = key.KeyId });
            server.Kill(); // waits for the end of its output: every line is in Output now
        }

        var secret = System.Text.Encoding.ASCII.GetString(ApiKeyToken.Parse(token).Secret);
        Assert.Contains(server.Output, line => line.Contains("CreateApiKey", StringComparison.Ordinal)); // the calls are in the output (audit export to stdout)
        Assert.DoesNotContain(server.Output, line => line.Contains(secret, StringComparison.Ordinal) || line.Contains(secret[..^4], StringComparison.Ordinal));
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

    private static string OwnerKey(ServerProcess server) =>
        server.Output.Single(l => l.TrimStart().StartsWith("Owner key:", StringComparison.Ordinal)).Split(':', 2)[1].Trim();

    private Task<(int ExitCode, string Output)> RunAsync(string apiKey, params string[] arguments) =>
        CliProcess.RunInAsync(_directory, [.. arguments, .. _connection], ("BASTION_API_KEY", apiKey));

    /// <summary>
    /// A production server with a fresh CA, certificate and database holding namespace <c>payments.acme</c>; its
    /// banner shows the first owner's key.
    /// </summary>
    private async Task<ServerProcess> StartServerAsync(string logLevel)
    {
        Assert.Equal(0, (await CliProcess.RunInAsync(_directory, ["certs", "ca", "create", "--cn", "Server CA", "--cert-file", "server-ca.pem", "--key-file", "server-ca.key"])).ExitCode);
        Assert.Equal(0, (await CliProcess.RunInAsync(_directory, ["certs", "server", "create", "--ca", "server-ca.pem", "--dns", "example.test", "--dns", "*.acme.example.test"])).ExitCode);
        Assert.Equal(0, (await CliProcess.RunInAsync(_directory, ["namespace", "create", "-f", "bastion.db", "--account", "acme", "-n", "payments"])).ExitCode);
        var port = ServerProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "bastion.json"), $$"""
            { "db-filename": "bastion.db", "account": "acme", "base-domain": "example.test",
              "tls-cert-file": "server.pem", "tls-key-file": "server.key", "port": {{port}}, "http-port": {{ServerProcess.FreePort()}}, "log-level": "{{logLevel}}", "audit-export": "stdout" }
            """);
        _connection = ["--address", $"127.0.0.1:{port}", "--tls-ca-path", "server-ca.pem", "--tls-server-name", "example.test"];
        return await ServerProcess.StartAsync(port, ["server", "start", "--config", "bastion.json"], ServerProcess.ReadyLine, _directory);
    }
}
