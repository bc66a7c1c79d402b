using System.Text;
using Bastion.Security.Audit;
using Bastion.Server;
using Bastion.Tests.Integration;
using Bastion.Tests.Wire;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Security;

/// <summary>The durable audit log of a real server: one record per call on every listener, whatever its outcome.</summary>
public sealed class AuditLogTests
{
    private const string Service = "temporal.api.workflowservice.v1.WorkflowService";

    [Fact]
    public async Task SdkHttpAndRawGrpcCalls_AllowedDeniedAndFailed_EachHaveExactlyOneRecord()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, HttpPort = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.HttpAddress}") };
        var canary = "payload-canary-" + Guid.NewGuid();

        // SDK: allowed (start, with a payload that must not be logged) and failed (a workflow that does not exist).
        var sdkId = "sdk-" + Guid.NewGuid();
        await client.StartWorkflowAsync("AuditedWorkflow", [canary], new(sdkId, "tq-audit"));
        var missingId = "missing-" + Guid.NewGuid();
        await Assert.ThrowsAnyAsync<Exception>(() => client.GetWorkflowHandle(missingId).DescribeAsync());

        // HTTP: allowed and failed.
        var httpId = "http-" + Guid.NewGuid();
        using (var content = new StringContent($$"""{"workflowType":{"name":"HttpWf"},"taskQueue":{"name":"tq-audit"},"input":[{"secret":"{{canary}}"}]}""", Encoding.UTF8, "application/json"))
        {
            using var response = await http.PostAsync($"/api/v1/namespaces/default/workflows/{httpId}", content);
            Assert.True(response.IsSuccessStatusCode);
        }

        var httpMissingId = "http-missing-" + Guid.NewGuid();
        using (var response = await http.GetAsync($"/api/v1/namespaces/nowhere/workflows/{httpMissingId}"))
        {
            Assert.Equal(404, (int)response.StatusCode);
        }

        // HTTP refused before the pipeline: no route, and a body that is not JSON.
        var nowhere = $"/api/v1/no-such-route-{Guid.NewGuid()}";
        using (var response = await http.GetAsync(nowhere))
        {
            Assert.Equal(404, (int)response.StatusCode);
        }

        using (var content = new StringContent("{ not json", Encoding.UTF8, "application/json"))
        {
            using var response = await http.PostAsync($"/api/v1/namespaces/default/workflows/bad-body-{Guid.NewGuid()}", content);
            Assert.Equal(400, (int)response.StatusCode);
        }

        // Raw gRPC: denied (the namespace header disagrees with the request).
        var deniedId = "denied-" + Guid.NewGuid();
        var (status, _) = await RawGrpc.CallAsync(
            server.Address,
            $"{Service}/DescribeWorkflowExecution",
            new DescribeWorkflowExecutionRequest { Namespace = "default", Execution = new() { WorkflowId = deniedId } },
            new Dictionary<string, string> { ["temporal-namespace"] = "someone-else" });
        Assert.Equal((int)StatusCode.PermissionDenied, status);

        var records = await ReadAllAsync(server);
        AssertOne(records, "StartWorkflowExecution", sdkId, StatusCode.OK, "default.local");
        AssertOne(records, "DescribeWorkflowExecution", missingId, StatusCode.NotFound, "default.local");
        AssertOne(records, "StartWorkflowExecution", httpId, StatusCode.OK, "default.local");
        AssertOne(records, "DescribeWorkflowExecution", httpMissingId, StatusCode.NotFound, "nowhere");
        AssertOne(records, "DescribeWorkflowExecution", deniedId, StatusCode.PermissionDenied, "default"); // refused before it resolved: as named
        var unrouted = Assert.Single(records, r => r.Record.Operation == $"HTTP GET {nowhere}").Record;
        Assert.Equal(((int)StatusCode.NotFound, "LocalDev"), (unrouted.Status, unrouted.PrincipalType));
        Assert.Single(records, r => r.Record.Operation == $"{Service}/StartWorkflowExecution" && r.Record.Status == (int)StatusCode.InvalidArgument);
        Assert.All(records, r => Assert.DoesNotContain(canary, Encoding.UTF8.GetString(r.Json), StringComparison.Ordinal));
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(server.AuditStore)).Tampering);
    }

    [Fact]
    public async Task ACallThatCommitsState_WritesItsRecordInTheSameTransaction()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var before = (server.CommitCounters.Batches, server.CommitCounters.Writes, Records: (await server.AuditStore.AllAsync()).Select(AuditReads.PlaceOf).ToHashSet());

        var id = "one-commit-" + Guid.NewGuid();
        await client.StartWorkflowAsync("AuditedWorkflow", [], new(id, "tq-audit"));

        // One transaction for the run and the call's record (not the run, then the record on its own). Other calls
        // the SDK may make meanwhile (a reconnect's GetSystemInfo) each commit at most one transaction of their own.
        var after = server.CommitCounters;
        var records = await ReadAllAsync(server);
        var others = records.Count(r => !before.Records.Contains($"{r.Chain}#{r.Sequence}") && !r.Record.Operation.EndsWith("/StartWorkflowExecution", StringComparison.Ordinal));
        Assert.Equal(before.Writes + 1, after.Writes);
        Assert.InRange(after.Batches - before.Batches, 1, 1 + others);
        AssertOne(records, "StartWorkflowExecution", id, StatusCode.OK, "default.local");
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(server.AuditStore)).Tampering);
    }

    [Fact]
    public async Task AResultLongPoll_WritesItsRecordWithTheCommitThatClosesTheRun()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var id = "long-poll-rides-" + Guid.NewGuid();
        var handle = await client.StartWorkflowAsync("AuditedWorkflow", [], new(id, "tq-audit"));
        var result = handle.GetResultAsync();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(server.Engine.HistoryWaiters(id) == 1)));

        await handle.TerminateAsync("done");
        await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => result);

        // Not a transaction of its own: the poll's record sits in the terminate's transaction, right after its record.
        var records = await ReadAllAsync(server);
        var terminate = Assert.Single(records, r => r.Record.Operation.EndsWith("/TerminateWorkflowExecution", StringComparison.Ordinal) && r.Record.Details.GetValueOrDefault("workflow_id") == id);
        var poll = Assert.Single(records, r => r.Record.Operation.EndsWith("/GetWorkflowExecutionHistory", StringComparison.Ordinal) && r.Record.Details.GetValueOrDefault("workflow_id") == id);
        Assert.Equal((terminate.Chain, terminate.Sequence + 1), (poll.Chain, poll.Sequence));
        Assert.Equal((int)StatusCode.OK, poll.Record.Status);
        Assert.Equal(0, server.Engine.HistoryWaiters(id));
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(server.AuditStore)).Tampering);
    }

    [Fact]
    public async Task WithoutCredentials_TheRefusedCallIsRecordedAsAnonymous()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, DevMode = false, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var id = "anon-" + Guid.NewGuid();
        var (status, _) = await RawGrpc.CallAsync(
            server.Address, $"{Service}/DescribeWorkflowExecution", new DescribeWorkflowExecutionRequest { Namespace = "default", Execution = new() { WorkflowId = id } });
        Assert.Equal((int)StatusCode.Unauthenticated, status);

        var record = Assert.Single(await ReadAllAsync(server), r => r.Record.Details.GetValueOrDefault("workflow_id") == id).Record;
        Assert.Equal("Anonymous", record.PrincipalType);
        Assert.Equal((int)StatusCode.Unauthenticated, record.Status);
        Assert.Equal("local", record.Account);
    }

    private static Task<List<AuditLogEntry>> ReadAllAsync(BastionServer server) => server.AuditEntriesAsync();

    private static void AssertOne(List<AuditLogEntry> records, string method, string workflowId, StatusCode status, string ns)
    {
        var record = Assert.Single(records, r => r.Record.Operation == $"{Service}/{method}" && r.Record.Details.GetValueOrDefault("workflow_id") == workflowId).Record;
        Assert.Equal((int)status, record.Status);
        Assert.Equal(ns, record.Namespace);
        Assert.Equal("LocalDev", record.PrincipalType);
        Assert.Equal("local-dev", record.PrincipalId);
        Assert.Equal(AuditKinds.ApiCall, record.Kind);
    }
}
