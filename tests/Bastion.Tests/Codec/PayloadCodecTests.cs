using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Bastion.Codec;
using Bastion.Engine.Namespaces;
using Bastion.Server;
using Bastion.Server.Codec;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Temporalio.Activities;
using Temporalio.Api.Common.V1;
using Temporalio.Client;
using Temporalio.Converters;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Codec;

/// <summary>
/// Client-side encryption with <see cref="AesGcmPayloadCodec"/>: the workflow runs end to end, the server only ever
/// sees <c>binary/encrypted</c> payloads, and the codec server decodes them for a caller with the token only.
/// </summary>
public sealed class PayloadCodecTests : IAsyncLifetime
{
    private const string Token = "codec-test-token";
    private const string UiOrigin = "https://ui.example.test";
    private readonly EncryptionKeyRing _keys = EncryptionKeyRing.Generate("k1");
    private BastionServer _server = null!;
    private CodecServer _codecServer = null!;

    [Workflow]
    public sealed class SecretWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string secret) =>
            Workflow.ExecuteActivityAsync((SecretActivities a) => a.RevealAsync(secret), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
    }

    public sealed class SecretActivities
    {
        [Activity]
        public Task<string> RevealAsync(string secret) => Task.FromResult("revealed-" + secret);
    }

    public async Task InitializeAsync()
    {
        _server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var options = new CodecServerOptions { Keys = _keys, Port = 0, Token = Token };
        options.AllowedOrigins.Add(UiOrigin);
        _codecServer = await CodecServer.StartAsync(options);
    }

    public async Task DisposeAsync()
    {
        await _codecServer.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task AWorkflowWithTheCodec_RunsEndToEnd_TheServerSeesOnlyEncryptedPayloads_AndTheCodecServerDecodesForTokenHolders()
    {
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        var converter = DataConverter.Default with { PayloadCodec = new AesGcmPayloadCodec(_keys) };
        var client = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default", DataConverter = converter });
        var taskQueue = "tq-" + Guid.NewGuid().ToString("N");
        var id = "codec-" + Guid.NewGuid();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<SecretWorkflow>().AddAllActivities(new SecretActivities()));
        await worker.ExecuteAsync(async () =>
            Assert.Equal("revealed-" + secret, await client.ExecuteWorkflowAsync((SecretWorkflow wf) => wf.RunAsync(secret), new(id, taskQueue))));

        var plainClient = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        var history = await plainClient.GetWorkflowHandle(id).FetchHistoryAsync();
        var payloads = history.Events.SelectMany(PayloadsIn).ToList();
        Assert.True(payloads.Count >= 4, $"expected input, activity input, activity result and result; found {payloads.Count}");
        Assert.All(payloads, p => Assert.Equal(AesGcmPayloadCodec.Encoding, p.Metadata["encoding"].ToStringUtf8()));
        Assert.All(payloads, p => Assert.DoesNotContain(secret, p.ToByteString().ToStringUtf8(), StringComparison.Ordinal));

        using var http = new HttpClient();
        var body = JsonFormatter.Default.Format(new Payloads { Payloads_ = { payloads } });
        var decoded = await PostAsync(http, "/decode", body, Token);
        Assert.Equal(HttpStatusCode.OK, decoded.StatusCode);
        var plain = JsonParser.Default.Parse<Payloads>(await decoded.Content.ReadAsStringAsync());
        Assert.Contains(plain.Payloads_, p => p.Data.ToStringUtf8() == $"\"{secret}\"");
        Assert.Contains(plain.Payloads_, p => p.Data.ToStringUtf8() == $"\"revealed-{secret}\"");
        Assert.All(plain.Payloads_, p => Assert.Equal("json/plain", p.Metadata["encoding"].ToStringUtf8()));

        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(http, "/decode", body, token: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(http, "/decode", body, "wrong-token")).StatusCode);
    }

    [Fact]
    public async Task TheCodecServer_EncodesWhatItDecodes_AndAllowsTheUisOriginAndHeaders()
    {
        using var http = new HttpClient();
        var original = new Payloads { Payloads_ = { new Payload { Metadata = { ["encoding"] = ByteString.CopyFromUtf8("json/plain") }, Data = ByteString.CopyFromUtf8("\"hello\"") } } };
        var encoded = await PostAsync(http, "/encode", JsonFormatter.Default.Format(original), Token);
        var roundTrip = await PostAsync(http, "/decode", await encoded.Content.ReadAsStringAsync(), Token);
        Assert.Equal(original, JsonParser.Default.Parse<Payloads>(await roundTrip.Content.ReadAsStringAsync()));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, _codecServer.Address + "/decode");
        preflight.Headers.Add("Origin", UiOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-namespace,content-type,authorization,authorization-extras");
        using var response = await http.SendAsync(preflight);
        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal(UiOrigin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        var allowed = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers"));
        Assert.All(CodecServer.AllowedHeaders, h => Assert.Contains(h, allowed, StringComparison.OrdinalIgnoreCase));

        using var missingNamespace = new HttpRequestMessage(HttpMethod.Post, _codecServer.Address + "/decode") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        missingNamespace.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(missingNamespace)).StatusCode);
    }

    [Fact]
    public async Task TheCodecServer_GrantsNoOtherOrigin()
    {
        // A page on another origin must not get decoded payloads through a visitor's browser: CORS names only the UI.
        using var http = new HttpClient();
        foreach (var origin in new[] { "https://evil.example.test", "https://ui.example.test.evil.example.test", "null" })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, _codecServer.Address + "/decode");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "x-namespace,content-type");
            using var response = await http.SendAsync(preflight);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), origin);

            using var post = new HttpRequestMessage(HttpMethod.Post, _codecServer.Address + "/decode") { Content = new StringContent("{\"payloads\":[]}", Encoding.UTF8, "application/json") };
            post.Headers.Add("Origin", origin);
            post.Headers.Add("X-Namespace", "default");
            post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var answer = await http.SendAsync(post);
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"), origin);
        }
    }

    [Fact]
    public async Task ANamespacesNamespaceCodecServer_IsServedInDescribeNamespace()
    {
        var registry = _server.Namespaces;
        await registry.SetCodecServerAsync(registry.Resolve("default.local"), new NamespaceCodecServer("https://codec.example.test", PassAccessToken: true, IncludeCrossOriginCredentials: false));
        var client = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        var described = await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
        Assert.Equal("https://codec.example.test", described.NamespaceInfo.Data["bastion.codec-server.endpoint"]);
        Assert.Equal("true", described.NamespaceInfo.Data["bastion.codec-server.pass-access-token"]);
        Assert.Equal("false", described.NamespaceInfo.Data["bastion.codec-server.include-cross-origin-credentials"]);
        await Assert.ThrowsAsync<Bastion.Engine.Errors.ServiceException>(async () =>
            await registry.SetCodecServerAsync(registry.Resolve("default.local"), new NamespaceCodecServer("http://codec.example.test", PassAccessToken: true, IncludeCrossOriginCredentials: false)));
    }

    private async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string body, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _codecServer.Address + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Namespace", "default");
        if (token != null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await http.SendAsync(request);
    }

    /// <summary>Every payload anywhere in a message, found through its descriptor.</summary>
    private static IEnumerable<Payload> PayloadsIn(IMessage message)
    {
        if (message is Payload payload)
        {
            yield return payload;
            yield break;
        }

        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.FieldType != FieldType.Message)
            {
                continue;
            }

            var value = field.Accessor.GetValue(message);
            var children = field.IsMap ? ((System.Collections.IDictionary)value).Values.OfType<IMessage>()
                : field.IsRepeated ? ((System.Collections.IEnumerable)value).OfType<IMessage>()
                : value is IMessage single ? [single] : [];
            foreach (var found in children.SelectMany(PayloadsIn))
            {
                yield return found;
            }
        }
    }
}
