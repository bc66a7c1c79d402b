using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Bastion.Tests.Security.Tls;

/// <summary>The HTTP API on its HTTPS listener: TLS 1.3 and the namespace's mTLS, exactly as on gRPC.</summary>
[Collection(TlsServerCollection.Name)]
public sealed class HttpsApiTests(TlsServerFixture fixture)
{
    private HttpClient Client(X509Certificate2? certificate, SslProtocols protocols = SslProtocols.Tls13) =>
        TlsServerFixture.LoopbackClient(fixture.HttpsPort, new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = protocols,
            ClientCertificates = certificate is null ? null : [certificate],
            RemoteCertificateValidationCallback = (_, presented, _, errors) => fixture.TrustsServer(presented, errors),
        });

    private string Uri(string host, string path) => $"https://{host}:{fixture.HttpsPort}{path}";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task StartAndHistory_OverHttpsWithTheNamespacesClientCertificate()
    {
        using var http = Client(fixture.ClientA);
        var host = TlsServerFixture.Host("alpha");
        var id = "https-" + Guid.NewGuid();
        using var start = await http.PostAsync(
            Uri(host, $"/api/v1/namespaces/alpha.acme/workflows/{id}"),
            Json("""{"workflowType":{"name":"HttpsWorkflow"},"taskQueue":{"name":"tq-https"},"input":["hello"]}"""));
        var startBody = await start.Content.ReadAsStringAsync();
        Assert.True(start.StatusCode == HttpStatusCode.OK, startBody);
        var runId = JsonNode.Parse(startBody)!["runId"]!.GetValue<string>();

        using var history = await http.GetAsync(Uri(host, $"/api/v1/namespaces/alpha.acme/workflows/{id}/history"));
        var events = JsonNode.Parse(await history.Content.ReadAsStringAsync())!["history"]!["events"]!.AsArray();
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        var started = events[0]!;
        Assert.Equal("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", started["eventType"]!.GetValue<string>());
        Assert.Equal(runId, started["workflowExecutionStartedEventAttributes"]!["originalExecutionRunId"]!.GetValue<string>());
    }

    [Fact]
    public async Task OtherNamespacesCertificate_OrNone_IsUnauthenticated()
    {
        var host = TlsServerFixture.Host("alpha");
        foreach (var certificate in new[] { fixture.ClientB, null })
        {
            using var http = Client(certificate);
            using var response = await http.GetAsync(Uri(host, "/api/v1/namespaces/alpha.acme/workflows/x"));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(16, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task NamingAnotherNamespace_OnAlphasHost_IsPermissionDenied()
    {
        using var http = Client(fixture.ClientA);
        using var response = await http.GetAsync(Uri(TlsServerFixture.Host("alpha"), "/api/v1/namespaces/beta.acme/workflows/x"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Tls12Client_IsRefusedAtTheHandshake()
    {
        using var http = Client(fixture.ClientA, SslProtocols.Tls12);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(Uri(TlsServerFixture.Host("alpha"), "/api/v1/namespaces/alpha.acme/workflows/x")));
    }
}
