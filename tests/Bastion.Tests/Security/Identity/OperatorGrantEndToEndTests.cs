using Bastion.Security.Authorization;
using Bastion.Tests.Security.Tls;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security.Identity;

/// <summary>
/// An operator grant on a running production server: its key reaches the granted namespace (which accepts no
/// tenant API keys) and no other, and each call is audited with principal type Operator and the key's public id.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class OperatorGrantEndToEndTests(TlsServerFixture fixture)
{
    [Fact]
    public async Task GrantKey_ReachesItsNamespaceOnly_AndEveryCallIsAuditedAsOperator()
    {
        var alpha = fixture.Server.Namespaces.Resolve("alpha.acme");
        var (grant, token) = await fixture.Server.Identities.GrantOperatorAsync(alpha, "oncall-erin", "INC-99", TimeSpan.FromHours(1), Permission.NamespaceRead);
        var key = Bastion.Security.Identity.ApiKeyToken.Parse(token).PublicId;

        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = "alpha.acme", ApiKey = token, Tls = fixture.SharedHostTls });
        Assert.True((await client.CountWorkflowsAsync("WorkflowType = 'x'")).Count >= 0);
        var write = await Assert.ThrowsAsync<RpcException>(() => client.StartWorkflowAsync("Wf", [], new("op-" + Guid.NewGuid().ToString("N"), "tq")));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, write.Code);

        var beta = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = "beta.acme", ApiKey = token, Tls = fixture.SharedHostTls });
        var elsewhere = await Assert.ThrowsAsync<RpcException>(() => beta.CountWorkflowsAsync("WorkflowType = 'x'"));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, elsewhere.Code);

        var records = fixture.Audit.Records.Where(r => r.ApiKeyId == key).ToList();
        Assert.Contains(records, r => r.Operation.EndsWith("WorkflowService/CountWorkflowExecutions", StringComparison.Ordinal) && r.Namespace == "alpha.acme" && r.Status == 0);
        Assert.Contains(records, r => r.Namespace == "beta.acme" && r.Status == (int)Grpc.Core.StatusCode.PermissionDenied);
        Assert.All(records, r => Assert.Equal(("Operator", grant.Id, "oncall-erin"), (r.PrincipalType, r.PrincipalId, r.PrincipalName)));
        Assert.DoesNotContain(fixture.Audit.Records, r => r.ToString().Contains(token, StringComparison.Ordinal));
    }
}
