using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Tests.Wire;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security;

/// <summary>
/// A dev server treats credentials as Temporal's dev server does while it has no identities: a call with an API
/// key it does not know (the SDKs' own tests set one on a shared client) is the local caller, and audited as such.
/// Once any API key exists, every key is checked as in production.
/// </summary>
public sealed class DevModeCredentialTests : IAsyncLifetime
{
    private const string UnknownKey = "my-api-key";

    private readonly CapturingAuditSink _audit = new();
    private BastionServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await BastionServer.StartAsync(new ServerOptions { Port = 0, AuditSink = _audit, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<TemporalClient> ConnectAsync(string apiKey) =>
        TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default", ApiKey = apiKey, Tls = new() { Disabled = true } });

    private static Task<(int Status, string Message)> DescribeDefaultRawAsync(string address, string apiKey) =>
        RawGrpc.CallAsync(
            address,
            "temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace",
            new Temporalio.Api.WorkflowService.V1.DescribeNamespaceRequest { Namespace = "default" },
            new Dictionary<string, string> { ["authorization"] = "Bearer " + apiKey });

    private async Task<(ApiKeyEntry Key, string Token)> NewServiceAccountKeyAsync()
    {
        var account = await _server.Identities.CreateAsync(new ServiceAccountEntry { Id = "sa-" + Guid.NewGuid().ToString("N")[..8], Account = "local", Name = "ci", Role = AccountRole.Admin });
        return await _server.Identities.CreateApiKeyAsync(new ApiKeyEntry
        {
            Id = string.Empty,
            Account = "local",
            OwnerId = account.Id,
            OwnerType = PrincipalType.ServiceAccount,
            ExpiryTime = DateTime.UtcNow.AddDays(1),
            SecretHash = [],
        });
    }

    [Fact]
    public async Task WithoutIdentities_AnUnknownKey_IsTheLocalCaller()
    {
        var client = await ConnectAsync(UnknownKey);
        var described = await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
        Assert.Equal("default", described.NamespaceInfo.Name);

        var records = _audit.Records.Where(r => r.Operation.EndsWith("/DescribeNamespace", StringComparison.Ordinal)).ToList();
        var record = Assert.Single(records);
        Assert.Equal((nameof(PrincipalType.LocalDev), 0, null), (record.PrincipalType, record.Status, record.ApiKeyId));
        Assert.DoesNotContain(_audit.Records, r => r.Status != 0);
    }

    [Fact]
    public async Task WithAnApiKey_KeysAreChecked_UnknownRefused_DisabledRefused()
    {
        var (key, token) = await NewServiceAccountKeyAsync();
        var known = await ConnectAsync(token);
        await known.WorkflowService.ListNamespacesAsync(new()); // "default" takes no API keys; listing needs no namespace
        Assert.Contains(_audit.Records, r => r.ApiKeyId == key.Id && r.PrincipalType == nameof(PrincipalType.ServiceAccount));

        var (status, _) = await DescribeDefaultRawAsync(_server.Address, UnknownKey);
        Assert.Equal((int)Grpc.Core.StatusCode.Unauthenticated, status);

        await _server.Identities.UpdateAsync<ApiKeyEntry>("local", key.Id, "API key", null, k => k with { Disabled = true });
        var disabled = await Assert.ThrowsAsync<RpcException>(() => known.WorkflowService.ListNamespacesAsync(new()));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, disabled.Code);

        // Without a key the loopback caller is still the local developer.
        var anonymous = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        await anonymous.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
    }

    [Fact]
    public async Task Production_RefusesAnUnknownKey()
    {
        await using var production = await BastionServer.StartAsync(new ServerOptions
        {
            Port = 0,
            DevMode = false,
            AuditSink = new CapturingAuditSink(),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        var (status, _) = await DescribeDefaultRawAsync(production.Address, UnknownKey);
        Assert.Equal((int)Grpc.Core.StatusCode.Unauthenticated, status);
    }
}
