using System.Net;
using System.Text.Json;
using Bastion.Server;
using Temporalio.Workflows;

namespace Bastion.Tests.Ui;

/// <summary>
/// The web UI's origin without a browser: the bundle with its single-page fallback, <c>/api/v1/settings</c> in the
/// shape Temporal's UI reads, and the HTTP API with payloads in the standard form (the UI decodes them itself).
/// </summary>
public sealed class UiHostingTests : IAsyncLifetime, IDisposable
{
    private readonly Security.CapturingAuditSink _audit = new();
    private BastionServer _server = null!;
    private HttpClient _http = null!;

    [Workflow]
    public sealed class EchoWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string text) => Task.FromResult("echo:" + text);
    }

    public async Task InitializeAsync()
    {
        _server = await BastionServer.StartAsync(new ServerOptions { Port = 0, UiPort = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning, AuditSink = _audit });
        _http = new HttpClient { BaseAddress = new Uri($"http://{_server.UiAddress}") };
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Settings_HaveTheShapeTemporalsUiReads()
    {
        using var response = await _http.GetAsync(new Uri("/api/v1/settings", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var settings = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = settings.RootElement;
        Assert.False(root.GetProperty("Auth").GetProperty("Enabled").GetBoolean());
        Assert.Equal("default", root.GetProperty("DefaultNamespace").GetString());
        Assert.Equal(string.Empty, root.GetProperty("Codec").GetProperty("Endpoint").GetString());
        Assert.False(root.GetProperty("Codec").GetProperty("PassAccessToken").GetBoolean());
        Assert.False(root.GetProperty("DisableWriteActions").GetBoolean());
        // From 2.23 on the UI encodes path parameters once; below it, twice (and workflow ids with '/' would break).
        Assert.True(Version.Parse(root.GetProperty("Version").GetString()!) >= new Version(2, 23));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/namespaces")]
    [InlineData("/namespaces/default/workflows")]
    [InlineData("/namespaces/default/workflows/an%2Fid.with.dots/run-1/history")]
    [InlineData("/account/namespaces/default")]
    [InlineData("/account/audit")]
    public async Task AnyPageOfTheApp_IsTheSinglePageAppsIndex(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/_app/immutable/", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task TheBundlesFiles_AreServed_ImmutableOnesCachedForGood_MissingOnesA404()
    {
        var index = await _http.GetStringAsync(new Uri("/", UriKind.Relative));
        var script = System.Text.RegularExpressions.Regex.Match(index, "\"(/_app/immutable/[^\"]+\\.js)\"").Groups[1].Value;
        using var file = await _http.GetAsync(new Uri(script, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal("text/javascript", file.Content.Headers.ContentType?.MediaType);
        Assert.Contains("immutable", file.Headers.CacheControl?.ToString(), StringComparison.Ordinal);

        using var missing = await _http.GetAsync(new Uri("/_app/immutable/chunks/missing.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var notices = await _http.GetStringAsync(new Uri("/THIRD-PARTY-NOTICES.txt", UriKind.Relative));
        Assert.Contains("@temporalio/ui (MIT)", notices, StringComparison.Ordinal);
        Assert.Contains("Temporal Technologies", notices, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheApi_OnTheUisOrigin_AnswersWithStandardPayloads_NotTheShorthand()
    {
        var client = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        var taskQueue = "tq-" + Guid.NewGuid().ToString("N");
        var id = "ui-api-" + Guid.NewGuid().ToString("N");
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<EchoWorkflow>());
        await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync((EchoWorkflow wf) => wf.RunAsync("hi"), new(id, taskQueue)));

        var json = await _http.GetStringAsync(new Uri($"/api/v1/namespaces/default/workflows/{id}/history", UriKind.Relative));
        using var history = JsonDocument.Parse(json);
        var input = history.RootElement.GetProperty("history").GetProperty("events")[0]
            .GetProperty("workflowExecutionStartedEventAttributes").GetProperty("input").GetProperty("payloads")[0];
        Assert.Equal("json/plain", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(input.GetProperty("metadata").GetProperty("encoding").GetString()!)));
        Assert.Equal("\"hi\"", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(input.GetProperty("data").GetString()!)));
    }

    [Fact]
    public async Task AnApiPathBastionLacks_IsAJsonStatusTheUiShows_NotThePage()
    {
        using var response = await _http.GetAsync(new Uri("/api/v1/namespaces/default/no-such-thing", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("No HTTP API route matches", status.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWriteWithoutTheUisHeader_IsRefused_AsACrossSiteRequestWouldBe()
    {
        var client = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        var id = "ui-csrf-" + Guid.NewGuid().ToString("N");
        var handle = await client.StartWorkflowAsync((EchoWorkflow wf) => wf.RunAsync("x"), new(id, "no-worker-" + id));
        var path = new Uri($"/api/v1/namespaces/default/workflows/{id}/terminate", UriKind.Relative);

        // What a form or fetch(..., {mode: "no-cors"}) on another site can send without a preflight.
        using (var simple = new StringContent("{\"reason\":\"csrf\"}", System.Text.Encoding.UTF8, "text/plain"))
        using (var refused = await _http.PostAsync(path, simple))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("Caller-Type", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"reason\":\"from the UI\"}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Caller-Type", "operator");
        using var accepted = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated, (await handle.DescribeAsync()).Status);
    }

    [Fact]
    public async Task AnApiCallByAnotherHostName_IsRefused_AgainstDnsRebinding()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/namespaces", UriKind.Relative));
        request.Headers.Host = "attacker.example";
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("attacker.example", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var local = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/namespaces", UriKind.Relative));
        local.Headers.Host = $"localhost:{new Uri($"http://{_server.UiAddress}").Port}";
        using var allowed = await _http.SendAsync(local);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task TheUisCalls_AreAuditedViaUi_AsTheLocalCaller_RefusedOnesToo()
    {
        using (var list = await _http.GetAsync(new Uri("/api/v1/namespaces/default/workflows", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }

        var call = Assert.Single(_audit.Records, r => r.Operation.EndsWith("/ListWorkflowExecutions", StringComparison.Ordinal));
        Assert.Equal(("LocalDev", "ui"), (call.PrincipalType, call.Via));

        using var simple = new StringContent("{}", System.Text.Encoding.UTF8, "text/plain");
        using (var refused = await _http.PostAsync(new Uri("/api/v1/namespaces/default/workflows/x/terminate", UriKind.Relative), simple))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        Assert.Single(_audit.Records, r => r.Operation.StartsWith("HTTP POST", StringComparison.Ordinal) && r.Via == "ui");
    }

    [Fact]
    public async Task TheCloudOpsApi_IsServedUnderCloud_AsTheLocalCaller_AWriteOnlyWithTheUisHeader()
    {
        using (var list = await _http.GetAsync(new Uri("/cloud/namespaces", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.Equal("application/json", list.Content.Headers.ContentType?.MediaType);
            using var json = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
            Assert.Contains(json.RootElement.GetProperty("namespaces").EnumerateArray(), n => n.GetProperty("namespace").GetString() == "default.local"); // start-dev's account is "local"
        }

        var call = Assert.Single(_audit.Records, r => r.Operation.EndsWith("CloudService/GetNamespaces", StringComparison.Ordinal));
        Assert.Equal(("LocalDev", "ui"), (call.PrincipalType, call.Via));

        const string Body = """{"spec":{"name":"ui-made","retentionDays":3,"apiKeyAuth":{"enabled":true}}}""";
        using (var simple = new StringContent(Body, System.Text.Encoding.UTF8, "text/plain"))
        using (var refused = await _http.PostAsync(new Uri("/cloud/namespaces", UriKind.Relative), simple))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("Caller-Type", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(_server.Namespaces.All, n => n.Name == "ui-made");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cloud/namespaces", UriKind.Relative)) { Content = new StringContent(Body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Caller-Type", "operator");
        using var created = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(TimeSpan.FromDays(3), Assert.Single(_server.Namespaces.All, n => n.Name == "ui-made").Retention);
    }

    [Fact]
    public async Task StartDev_HasNoSignIn()
    {
        using var signIn = await _http.PostAsync(new Uri("/auth/sign-in", UriKind.Relative), new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, signIn.StatusCode); // no such endpoint: the bundle answers, GET only
        Assert.DoesNotContain(signIn.Headers, h => h.Key == "Set-Cookie");
    }
}
