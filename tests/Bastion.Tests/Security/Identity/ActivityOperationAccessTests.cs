using Bastion.Security.Authorization;
using Bastion.Tests.Security.Tls;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security.Identity;

/// <summary>
/// Pause, unpause, reset and update-options of activities are namespace writes: a read-only key is refused each of
/// them before the engine is asked, and every refusal is audited.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class ActivityOperationAccessTests(TlsServerFixture fixture)
{
    [Fact]
    public async Task ReadOnlyKey_IsRefusedEveryActivityOperation_AndEachRefusalIsAudited()
    {
        var alpha = fixture.Server.Namespaces.Resolve("alpha.acme");
        var (_, token) = await fixture.Server.Identities.GrantOperatorAsync(alpha, "oncall-otto", "INC-21", TimeSpan.FromHours(1), Permission.NamespaceRead);
        var key = Bastion.Security.Identity.ApiKeyToken.Parse(token).PublicId;
        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = "alpha.acme", ApiKey = token, Tls = fixture.SharedHostTls });
        var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = "wf-" + Guid.NewGuid().ToString("N") };

        foreach (var write in new Func<Task>[]
        {
            () => client.WorkflowService.PauseActivityAsync(new() { Namespace = "alpha.acme", Execution = execution, Id = "a" }),
            () => client.WorkflowService.UnpauseActivityAsync(new() { Namespace = "alpha.acme", Execution = execution, Id = "a" }),
            () => client.WorkflowService.ResetActivityAsync(new() { Namespace = "alpha.acme", Execution = execution, Id = "a" }),
            () => client.WorkflowService.UpdateActivityOptionsAsync(new() { Namespace = "alpha.acme", Execution = execution, Id = "a", RestoreOriginal = true }),
        })
        {
            Assert.Equal(RpcException.StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(write)).Code);
        }

        var records = fixture.Audit.Records.Where(r => r.ApiKeyId == key).ToList();
        foreach (var method in new[] { "PauseActivity", "UnpauseActivity", "ResetActivity", "UpdateActivityOptions" })
        {
            Assert.Contains(records, r => r.Operation.EndsWith("WorkflowService/" + method, StringComparison.Ordinal) && r.Status == (int)Grpc.Core.StatusCode.PermissionDenied);
        }
    }
}
