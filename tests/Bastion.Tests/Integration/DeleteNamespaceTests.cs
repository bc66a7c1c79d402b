using Bastion.Security.Audit;
using Bastion.Server;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>
/// OperatorService.DeleteNamespace as Temporal answers it (by name or id, the deleted name with Temporal's suffix, its
/// texts for a missing namespace or a Nexus endpoint's target), sharing the Cloud Ops API's deletion, and audited
/// with the namespace it deleted.
/// </summary>
public sealed class DeleteNamespaceTests
{
    [Fact]
    public async Task DeleteNamespace_ByNameOrId_RemovesIt_AnswersTemporalsDeletedName_AndIsAudited()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        await client.WorkflowService.RegisterNamespaceAsync(new() { Namespace = "doomed", WorkflowExecutionRetentionPeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        await client.WorkflowService.RegisterNamespaceAsync(new() { Namespace = "byid", WorkflowExecutionRetentionPeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        var doomedId = (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "doomed" })).NamespaceInfo.Id;
        var byId = (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "byid" })).NamespaceInfo.Id;

        var deleted = await client.OperatorService.DeleteNamespaceAsync(new() { Namespace = "doomed" });
        Assert.Equal($"doomed-deleted-{doomedId[..5]}", deleted.DeletedNamespace);
        var gone = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "doomed" }));
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);

        var again = await Assert.ThrowsAsync<RpcException>(() => client.OperatorService.DeleteNamespaceAsync(new() { Namespace = "doomed" }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, again.Code);
        Assert.Equal("namespace doomed is not found", again.Message);

        await client.OperatorService.DeleteNamespaceAsync(new() { NamespaceId = byId });
        await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "byid" }));

        var both = await Assert.ThrowsAsync<RpcException>(() => client.OperatorService.DeleteNamespaceAsync(new() { Namespace = "default", NamespaceId = byId }));
        Assert.Equal("only one of namespace or namespace ID must be set", both.Message);
        var neither = await Assert.ThrowsAsync<RpcException>(() => client.OperatorService.DeleteNamespaceAsync(new()));
        Assert.Equal("namespace or namespace ID is required", neither.Message);

        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            var records = new List<AuditLogEntry>();
            string? token = null;
            do
            {
                var page = await server.AuditLog.ReadAsync(Bastion.Security.Authorization.Principal.LocalDev, new AuditLogRequest(PageSize: 100, PageToken: token));
                records.AddRange(page.Records);
                token = page.NextPageToken;
            }
            while (token != null);
            return records.Any(r => r.Record.Operation.EndsWith("OperatorService/DeleteNamespace", StringComparison.Ordinal) && r.Record.Status == 0 && r.Record.Namespace == "doomed");
        }));
    }

    [Fact]
    public async Task DeleteNamespace_OfANexusEndpointsTarget_IsRefused()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        await client.WorkflowService.RegisterNamespaceAsync(new() { Namespace = "target", WorkflowExecutionRetentionPeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(1)) });
        await client.OperatorService.CreateNexusEndpointAsync(new CreateNexusEndpointRequest
        {
            Spec = new() { Name = "payments", Target = new() { Worker = new() { Namespace = "target", TaskQueue = "nexus-tq" } } },
        });

        var refused = await Assert.ThrowsAsync<RpcException>(() => client.OperatorService.DeleteNamespaceAsync(new() { Namespace = "target" }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, refused.Code);
        Assert.Equal("cannot delete a namespace that is a target of a Nexus endpoint payments", refused.Message);
        await client.WorkflowService.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "target" }); // still there
    }
}
