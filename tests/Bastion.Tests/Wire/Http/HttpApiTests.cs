using System.Text.Json.Nodes;
using Temporalio.Workflows;

namespace Bastion.Tests.Wire.Http;

[Collection(HttpApiCollection.Name)]
public sealed class HttpApiTests(HttpApiFixture fixture)
{
    private const string NamespaceNotFound = "type.googleapis.com/temporal.api.errordetails.v1.NamespaceNotFoundFailure";

    [Workflow]
    public sealed class GreetOverHttpWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) => Task.FromResult($"Hello, {name}!");
    }

    private static string NewId() => "http-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task StartByPost_ThenHistoryByGet_IsProtojsonWithShorthandPayloads()
    {
        var id = NewId();
        var runId = await fixture.StartAsync(id, "tq-http");
        Assert.True(Guid.TryParse(runId, out _));

        var (status, body) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{id}/history");
        Assert.Equal(200, status);
        var started = body!["history"]!["events"]![0]!;
        Assert.Equal("1", started["eventId"]!.GetValue<string>()); // int64 is a string in protojson
        Assert.Equal("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", started["eventType"]!.GetValue<string>());
        var attributes = started["workflowExecutionStartedEventAttributes"]!;
        Assert.Equal("HttpWorkflow", attributes["workflowType"]!["name"]!.GetValue<string>());
        Assert.Equal("""["Bastion"]""", attributes["input"]!.ToJsonString());
        Assert.NotNull(started["eventTime"]);
    }

    [Fact]
    public async Task NoPayloadShorthand_ShowsTheStandardPayloadForm()
    {
        var id = NewId();
        await fixture.StartAsync(id, "tq-http");
        var (_, body) = await fixture.SendAsync(HttpMethod.Get, $"/namespaces/default/workflows/{id}/history?noPayloadShorthand");
        var payload = body!["history"]!["events"]![0]!["workflowExecutionStartedEventAttributes"]!["input"]!["payloads"]![0]!;
        Assert.Equal(Convert.ToBase64String("json/plain"u8.ToArray()), payload["metadata"]!["encoding"]!.GetValue<string>());
        Assert.Equal(Convert.ToBase64String("\"Bastion\""u8.ToArray()), payload["data"]!.GetValue<string>());
    }

    [Fact]
    public async Task Describe_OnThePrimaryPath_SetsTheNestedFieldFromThePath()
    {
        var id = NewId();
        var runId = await fixture.StartAsync(id, "tq-http");
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, $"/namespaces/default/workflows/{id}");
        Assert.Equal(200, status);
        var info = body!["workflowExecutionInfo"]!;
        Assert.Equal(id, info["execution"]!["workflowId"]!.GetValue<string>());
        Assert.Equal(runId, info["execution"]!["runId"]!.GetValue<string>());
        Assert.Equal("WORKFLOW_EXECUTION_STATUS_RUNNING", info["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Signal_TakesItsNameFromThePath_AndItsInputAsShorthand()
    {
        var id = NewId();
        await fixture.StartAsync(id, "tq-http");
        var (status, _) = await fixture.SendAsync(
            HttpMethod.Post, $"/api/v1/namespaces/default/workflows/{id}/signal/poke", """{"input":[{"n":1},null]}""");
        Assert.Equal(200, status);

        var history = await new Integration.RawDriver(fixture.Client).HistoryAsync(id);
        var signaled = history.Single(e => e.WorkflowExecutionSignaledEventAttributes != null).WorkflowExecutionSignaledEventAttributes;
        Assert.Equal("poke", signaled.SignalName);
        Assert.Equal("""{"n":1}""", signaled.Input.Payloads_[0].Data.ToStringUtf8());
        Assert.Equal("json/plain", signaled.Input.Payloads_[0].Metadata["encoding"].ToStringUtf8());
        Assert.Equal("binary/null", signaled.Input.Payloads_[1].Metadata["encoding"].ToStringUtf8());
    }

    [Fact]
    public async Task QueryParameters_SetScalarNestedAndEnumFields()
    {
        var id = NewId();
        var runId = await fixture.StartAsync(id, "tq-http");

        var (status, body) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{id}/history?maximumPageSize=1&execution.runId={runId}");
        Assert.Equal(200, status);
        Assert.Single(body!["history"]!["events"]!.AsArray());
        Assert.False(string.IsNullOrEmpty(body["nextPageToken"]?.GetValue<string>()));

        // The proto name works as well as the JSON name, and the run id reaches the engine: another run is not found.
        (status, _) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{id}/history?execution.run_id={Guid.NewGuid()}");
        Assert.Equal(404, status);

        // Enums by name, in Temporal's short form, or by number; a value of no enum is refused naming the enum.
        foreach (var filter in new[] { "HISTORY_EVENT_FILTER_TYPE_ALL_EVENT", "AllEvent", "1" })
        {
            (status, body) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{id}/history?historyEventFilterType={filter}");
            Assert.Equal(200, status);
            Assert.NotEmpty(body!["history"]!["events"]!.AsArray());
        }

        (status, body) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{id}/history?historyEventFilterType=Sometimes");
        Assert.Equal(400, status);
        Assert.Contains("HistoryEventFilterType", body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EncodedWorkflowIds_StayOneSegment()
    {
        var id = NewId() + "/with slash";
        await fixture.StartAsync(Uri.EscapeDataString(id), "tq-http");
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, $"/namespaces/default/workflows/{Uri.EscapeDataString(id)}");
        Assert.Equal(200, status);
        Assert.Equal(id, body!["workflowExecutionInfo"]!["execution"]!["workflowId"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownNamespace_Is404_WithTheTypedDetail()
    {
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, "/api/v1/namespaces/missing/workflows/x");
        Assert.Equal(404, status);
        Assert.Equal(5, body!["code"]!.GetValue<int>());
        var detail = body["details"]![0]!;
        Assert.Equal(NamespaceNotFound, detail["@type"]!.GetValue<string>());
        Assert.Equal("missing", detail["namespace"]!.GetValue<string>());
    }

    [Fact]
    public async Task StartingTwice_Is409_WithTheRunIdOfTheRunningWorkflow()
    {
        var id = NewId();
        var runId = await fixture.StartAsync(id, "tq-http");
        var (status, body) = await fixture.SendAsync(
            HttpMethod.Post, $"/api/v1/namespaces/default/workflows/{id}", """{"workflowType":{"name":"HttpWorkflow"},"taskQueue":{"name":"tq-http"},"requestId":"another"}""");
        Assert.Equal(409, status);
        Assert.Equal(6, body!["code"]!.GetValue<int>());
        var detail = body["details"]![0]!;
        Assert.Equal("type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure", detail["@type"]!.GetValue<string>());
        Assert.Equal(runId, detail["runId"]!.GetValue<string>());
    }

    [Fact]
    public async Task MethodWithoutHandler_Is501_NamingTheMethod()
    {
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, "/api/v1/namespaces/default/archived-workflows");
        Assert.Equal(501, status);
        Assert.Equal(12, body!["code"]!.GetValue<int>());
        Assert.Contains("WorkflowService/ListArchivedWorkflowExecutions", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedJson_Is400_SayingWhatIsWrong()
    {
        var (status, body) = await fixture.SendAsync(HttpMethod.Post, $"/api/v1/namespaces/default/workflows/{NewId()}", """{"workflowType": {""");
        Assert.Equal(400, status);
        Assert.Equal(3, body!["code"]!.GetValue<int>());
        var message = body["message"]!.GetValue<string>();
        Assert.Contains("not valid JSON", message, StringComparison.Ordinal);
        Assert.Contains("StartWorkflowExecutionRequest", message, StringComparison.Ordinal);

        (status, body) = await fixture.SendAsync(HttpMethod.Post, $"/api/v1/namespaces/default/workflows/{NewId()}", """{"workflowTipe": {"name": "x"}}""");
        Assert.Equal(400, status);
        Assert.Contains("workflowTipe", body!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, body) = await fixture.SendAsync(HttpMethod.Post, $"/api/v1/namespaces/default/workflows/{NewId()}", "[1, 2]");
        Assert.Equal(400, status);
        Assert.Contains("JSON object", body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRoute_Is404_AndAWrongMethod_Is405()
    {
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, "/api/v1/nothing/here");
        Assert.Equal(404, status);
        Assert.Equal(5, body!["code"]!.GetValue<int>());

        using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/namespaces/default/workflows/x");
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(405, (int)response.StatusCode);
        Assert.Equal(["GET", "POST"], response.Content.Headers.Allow.Order(StringComparer.Ordinal));

        // gRPC is not served on the HTTP API's listener.
        (status, _) = await fixture.SendAsync(HttpMethod.Post, "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo", "{}");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task SecurityPipeline_AppliesToHttpCalls_HeaderChecksAndOneAuditRecordPerCall()
    {
        // Tests of a collection run one at a time, so the records this call adds are its own.
        var before = fixture.Audit.Records.Count;
        var (status, _) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{NewId()}");
        Assert.Equal(404, status); // no such workflow
        var record = Assert.Single(fixture.Audit.Records.Skip(before));
        Assert.Equal("temporal.api.workflowservice.v1.WorkflowService/DescribeWorkflowExecution", record.Operation);
        Assert.Equal((int)Grpc.Core.StatusCode.NotFound, record.Status);
        Assert.Equal("default.local", record.Namespace);
        Assert.Equal("LocalDev", record.PrincipalType);
        Assert.StartsWith("ipv4:127.0.0.1:", record.Peer, StringComparison.Ordinal);

        before = fixture.Audit.Records.Count;
        var (denied, body) = await fixture.SendAsync(
            HttpMethod.Get, "/api/v1/namespaces/default", configure: r => r.Headers.Add("temporal-namespace", "other"));
        Assert.Equal(403, denied);
        Assert.Contains("temporal-namespace", body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        record = Assert.Single(fixture.Audit.Records.Skip(before));
        Assert.Equal("temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace", record.Operation);
        Assert.Equal((int)Grpc.Core.StatusCode.PermissionDenied, record.Status);
    }

    [Fact]
    public async Task WorkflowStartedOverHttp_IsCompletedByAnSdkWorker_AndItsResultReadByTheSdkClient()
    {
        var taskQueue = "tq-" + Guid.NewGuid().ToString("N");
        var id = NewId();
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(taskQueue).AddWorkflow<GreetOverHttpWorkflow>());
        await worker.ExecuteAsync(async () =>
        {
            await fixture.StartAsync(id, taskQueue, workflowType: "GreetOverHttpWorkflow", input: "HTTP");
            var result = await fixture.Client.GetWorkflowHandle(id).GetResultAsync<string>().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("Hello, HTTP!", result);
        });

        // And the closed workflow reads back over HTTP, its result as shorthand.
        var (_, body) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/workflows/{id}/history?historyEventFilterType=CLOSE_EVENT");
        var closed = Assert.Single(body!["history"]!["events"]!.AsArray())!;
        Assert.Equal("""["Hello, HTTP!"]""", closed["workflowExecutionCompletedEventAttributes"]!["result"]!.ToJsonString());
    }

    [Fact]
    public async Task LongPollOverHttp_EndsWhenTheClientGoesAway()
    {
        var id = NewId();
        await fixture.StartAsync(id, "tq-http");
        using var cancel = new CancellationTokenSource();
        var poll = fixture.Http.GetAsync($"/api/v1/namespaces/default/workflows/{id}/history?waitNewEvent=true&historyEventFilterType=CLOSE_EVENT", cancel.Token);
        // Give the request time to reach the server; the assertion below does not depend on how long this is.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => poll);

        var canceled = await WaitForAsync(() => fixture.Audit.Records.Any(r =>
            r.Operation == "temporal.api.workflowservice.v1.WorkflowService/GetWorkflowExecutionHistory" && r.Status == (int)Grpc.Core.StatusCode.Cancelled));
        Assert.True(canceled, "the long poll did not observe the client going away");
    }

    [Fact]
    public async Task WithoutDevMode_AnHttpCallerWithoutCredentials_Is401()
    {
        await using var server = await Bastion.Server.BastionServer.StartAsync(
            new Bastion.Server.ServerOptions { Port = 0, HttpPort = 0, DevMode = false, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.HttpAddress}") };
        using var response = await http.GetAsync("/api/v1/namespaces/default");
        Assert.Equal(401, (int)response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(16, body["code"]!.GetValue<int>());
        Assert.Contains("API key", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pretty_IndentsTheResponse()
    {
        using var response = await fixture.Http.GetAsync("/api/v1/system-info?pretty");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("\n  \"", text, StringComparison.Ordinal);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(JsonNode.Parse(text)!["capabilities"]);
    }

    private static async Task<bool> WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        return condition();
    }
}
