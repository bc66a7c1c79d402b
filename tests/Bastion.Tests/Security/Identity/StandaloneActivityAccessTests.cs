using Bastion.Security.Authorization;
using Bastion.Tests.Security.Tls;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security.Identity;

/// <summary>
/// Standalone activities pass the one security pipeline with the permissions of the matching workflow methods: a
/// read-only key describes and lists them but cannot start, cancel, terminate or delete one; every call is audited.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class StandaloneActivityAccessTests(TlsServerFixture fixture)
{
    [Fact]
    public async Task ReadOnlyKey_ReadsActivities_AndIsRefusedEveryWrite()
    {
        var alpha = fixture.Server.Namespaces.Resolve("alpha.acme");
        var (_, token) = await fixture.Server.Identities.GrantOperatorAsync(alpha, "oncall-ann", "INC-21", TimeSpan.FromHours(1), Permission.NamespaceRead);
        var key = Bastion.Security.Identity.ApiKeyToken.Parse(token).PublicId;
        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = "alpha.acme", ApiKey = token, Tls = fixture.SharedHostTls });
        var id = "sa-" + Guid.NewGuid().ToString("N");

        var start = await Assert.ThrowsAsync<RpcException>(() => client.StartActivityAsync("Echo", [], new(id, "tq") { StartToCloseTimeout = TimeSpan.FromSeconds(5) }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, start.Code);
        foreach (var write in new Func<Task>[]
        {
            () => client.GetActivityHandle(id).CancelAsync(),
            () => client.GetActivityHandle(id).TerminateAsync(),
            () => client.WorkflowService.DeleteActivityExecutionAsync(new() { Namespace = "alpha.acme", ActivityId = id }),
        })
        {
            Assert.Equal(RpcException.StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(write)).Code);
        }

        // Reads are allowed: the activity does not exist (NOT_FOUND, past authorization), and the list is readable.
        Assert.Equal(RpcException.StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => client.GetActivityHandle(id).DescribeAsync())).Code);
        Assert.Equal(0, (await client.CountActivitiesAsync($"ActivityId = '{id}'")).Count);

        var records = fixture.Audit.Records.Where(r => r.ApiKeyId == key).ToList();
        Assert.Contains(records, r => r.Operation.EndsWith("WorkflowService/StartActivityExecution", StringComparison.Ordinal) && r.Status == (int)Grpc.Core.StatusCode.PermissionDenied);
        Assert.Contains(records, r => r.Operation.EndsWith("WorkflowService/TerminateActivityExecution", StringComparison.Ordinal) && r.Status == (int)Grpc.Core.StatusCode.PermissionDenied);
        Assert.Contains(records, r => r.Operation.EndsWith("WorkflowService/DescribeActivityExecution", StringComparison.Ordinal) && r.Status == (int)Grpc.Core.StatusCode.NotFound);
        Assert.Contains(records, r => r.Operation.EndsWith("WorkflowService/CountActivityExecutions", StringComparison.Ordinal) && r.Status == 0);
    }
}
