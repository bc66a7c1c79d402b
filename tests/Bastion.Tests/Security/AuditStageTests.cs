using Bastion.Server;
using Bastion.Tests.Integration;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security;

public sealed class AuditStageTests
{
    [Fact]
    public async Task EveryCall_AllowedOrRefused_ProducesOneRecord_WithoutPayloads()
    {
        var sink = new CapturingAuditSink();
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, AuditSink = sink, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var raw = new RawDriver(client);
        var secret = "payload-canary-" + Guid.NewGuid();
        var input = new Temporalio.Api.Common.V1.Payloads();
        input.Payloads_.Add(new Temporalio.Api.Common.V1.Payload { Data = Google.Protobuf.ByteString.CopyFromUtf8(secret) });
        var start = await raw.StartAsync("audited-" + Guid.NewGuid(), "tq", input);
        await Assert.ThrowsAsync<RpcException>(() => new RawDriver(client, "missing").StartAsync("x", "tq"));
        await Assert.ThrowsAsync<RpcException>(() => raw.Service.ListArchivedWorkflowExecutionsAsync(new() { Namespace = "default" }));

        var records = sink.Records.ToList();
        Assert.Single(records, r => r.Operation == "temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo");
        var started = Assert.Single(records, r => r.Operation == "temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution" && r.Status == 0);
        Assert.Equal("default.local", started.Namespace);
        Assert.Equal("LocalDev", started.PrincipalType);
        Assert.False(string.IsNullOrEmpty(started.RequestId));
        var missing = Assert.Single(records, r => r.Operation == "temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution" && r.Status != 0);
        Assert.Equal((int)Grpc.Core.StatusCode.NotFound, missing.Status);
        Assert.Equal("missing", missing.Namespace);
        Assert.Equal((int)Grpc.Core.StatusCode.Unimplemented, Assert.Single(records, r => r.Operation == "temporal.api.workflowservice.v1.WorkflowService/ListArchivedWorkflowExecutions").Status);
        Assert.DoesNotContain(records, r => System.Text.Encoding.UTF8.GetString(Bastion.Security.Audit.AuditJson.Serialize(r, "node/test", 1, [])).Contains(secret, StringComparison.Ordinal));
        Assert.Equal("tq", started.Details["task_queue"]);
        Assert.StartsWith("audited-", started.Details["workflow_id"], StringComparison.Ordinal);
        Assert.NotEmpty(start.RunId);
    }

    [Fact]
    public async Task ACallWhoseRecordCannotBeWritten_Fails()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, AuditSink = new FailingSink(), LogLevel = Microsoft.Extensions.Logging.LogLevel.Critical });
        var (status, _) = await Bastion.Tests.Wire.RawGrpc.CallAsync(
            server.Address, "temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo", new Temporalio.Api.WorkflowService.V1.GetSystemInfoRequest());
        Assert.Equal((int)Grpc.Core.StatusCode.Unavailable, status);
    }

    private sealed class FailingSink : Bastion.Security.Audit.IAuditSink
    {
        public ValueTask WriteAsync(Bastion.Security.Audit.AuditRecord record, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("disk full"));
    }
}
