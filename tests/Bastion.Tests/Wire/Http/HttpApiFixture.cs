using System.Text.Json.Nodes;
using Bastion.Server;
using Bastion.Tests.Security;

namespace Bastion.Tests.Wire.Http;

/// <summary>A real server with its HTTP API on a free loopback port, an <see cref="HttpClient"/> for it, and the audit records it wrote.</summary>
public sealed class HttpApiFixture : IAsyncLifetime
{
    internal BastionServer Server { get; private set; } = null!;

    internal CapturingAuditSink Audit { get; } = new();

    public HttpClient Http { get; private set; } = null!;

    public TemporalClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new ServerOptions { Port = 0, HttpPort = 0, AuditSink = Audit, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.Namespaces.Add("other");
        Server = await BastionServer.StartAsync(options);
        Http = new HttpClient { BaseAddress = new Uri($"http://{Server.HttpAddress}") };
        Client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(Server.Address) { Namespace = "default" });
    }

    /// <summary>Sends a request and returns its status and JSON body.</summary>
    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? json = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json != null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        configure?.Invoke(request);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Starts a workflow over HTTP with one string input; returns its run id.</summary>
    public async Task<string> StartAsync(string workflowId, string taskQueue, string workflowType = "HttpWorkflow", string input = "Bastion")
    {
        var body = new JsonObject
        {
            ["workflowType"] = new JsonObject { ["name"] = workflowType },
            ["taskQueue"] = new JsonObject { ["name"] = taskQueue },
            ["input"] = new JsonArray(input),
            ["requestId"] = Guid.NewGuid().ToString(),
        };
        var (status, response) = await SendAsync(HttpMethod.Post, $"/api/v1/namespaces/default/workflows/{workflowId}", body.ToJsonString());
        Assert.True(status == 200, $"start answered {status}: {response}");
        return response!["runId"]!.GetValue<string>();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class HttpApiCollection : ICollectionFixture<HttpApiFixture>
{
    public const string Name = "http-api";
}
