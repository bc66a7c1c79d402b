using Bastion.Codec;
using Bastion.Engine.Namespaces;
using Bastion.Server;
using Bastion.Server.Codec;
using Microsoft.Playwright;
using Temporalio.Converters;
using Temporalio.Workflows;

namespace Bastion.Tests.Ui;

/// <summary>
/// Payloads encrypted by the application (<see cref="AesGcmPayloadCodec"/>) in Temporal's UI, in a real browser: with
/// the namespace's codec endpoint set, the browser asks that codec server (CORS for the UI's origin only) to decode
/// them and shows the plain input and result; the server, which has no key, never receives them in plain. Without the
/// endpoint the page shows the encoded payloads. Screenshots go to the test output's <c>screenshots/</c>.
/// </summary>
public sealed class CodecBrowserTests(CodecBrowserTests.Site site) : IClassFixture<CodecBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>The server with its UI, the codec server holding the keys, a workflow the SDK ran with them, and chromium.</summary>
    public sealed class Site : IAsyncLifetime
    {
        private readonly EncryptionKeyRing _keys = EncryptionKeyRing.Generate("ui-key");
        private Chromium? _browser;

        public BastionServer Server { get; private set; } = null!;

        /// <summary>Every audit record the server writes.</summary>
        internal Security.CapturingAuditSink Audit { get; } = new();

        public CodecServer Codec { get; private set; } = null!;

        /// <summary>The UI's origin, e.g. <c>http://127.0.0.1:8233</c>.</summary>
        public string Ui { get; private set; } = string.Empty;

        public string Secret { get; } = "secret-" + Guid.NewGuid().ToString("N")[..12];

        public string WorkflowId { get; } = "codec-ui-" + Guid.NewGuid().ToString("N")[..8];

        public Task<(IPage Page, List<string> Errors)> NewPageAsync() => _browser!.NewPageAsync();

        public async Task InitializeAsync()
        {
            _browser = await Chromium.LaunchAsync();
            Server = await BastionServer.StartAsync(new ServerOptions { Port = 0, UiPort = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning, AuditSink = Audit });
            Ui = $"http://{Server.UiAddress}";
            var options = new CodecServerOptions { Keys = _keys, Port = 0 };
            options.AllowedOrigins.Add(Ui);
            Codec = await CodecServer.StartAsync(options);

            var converter = DataConverter.Default with { PayloadCodec = new AesGcmPayloadCodec(_keys) };
            var client = await TemporalClient.ConnectAsync(new(Server.Address) { Namespace = "default", DataConverter = converter });
            var taskQueue = "codec-ui-" + Guid.NewGuid().ToString("N")[..8];
            using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<RevealWorkflow>());
            await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync((RevealWorkflow wf) => wf.RunAsync(Secret), new(WorkflowId, taskQueue)));
        }

        /// <summary>Sets (or, with null, clears) the default namespace's codec server, as <c>bastion namespace update</c> does.</summary>
        public async Task UseCodecServerAsync(string? endpoint)
        {
            var registry = Server.Namespaces;
            await registry.SetCodecServerAsync(registry.Resolve("default.local"), endpoint is null ? null : new NamespaceCodecServer(endpoint, PassAccessToken: false, IncludeCrossOriginCredentials: false));
        }

        public async Task DisposeAsync()
        {
            if (_browser != null)
            {
                await _browser.DisposeAsync();
            }

            if (Codec != null)
            {
                await Codec.DisposeAsync();
            }

            if (Server != null)
            {
                await Server.DisposeAsync();
            }
        }
    }

    [Workflow]
    public sealed class RevealWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string secret) => Task.FromResult("revealed-" + secret);
    }

    [Fact]
    public async Task WithTheNamespacesCodecEndpoint_TheWorkflowPage_ShowsTheDecodedInputAndResult_DecodedByTheBrowser()
    {
        await site.UseCodecServerAsync(site.Codec.Address);
        var (page, errors) = await site.NewPageAsync();
        var requests = Record(page);

        await page.GotoAsync($"{site.Ui}/namespaces/default/workflows/{site.WorkflowId}");
        await Chromium.WaitForAddressAsync(page, url => url.EndsWith("/history", StringComparison.Ordinal), s_wait);
        await ExpectVisibleAsync(page, page.GetByText($"\"revealed-{site.Secret}\"").First, errors, "workflow-decoded");
        await ExpectVisibleAsync(page, page.GetByText($"\"{site.Secret}\"").First, errors, "workflow-decoded");
        await Chromium.ScreenshotAsync(page, "workflow-decoded");

        var seen = Snapshot(requests);
        var decodes = seen.Where(r => r.Url == site.Codec.Address + "/decode").ToList();
        Assert.NotEmpty(decodes);
        Assert.All(decodes, r => Assert.Equal("default", r.Headers.GetValueOrDefault("x-namespace")));
        Assert.All(decodes, r => Assert.Equal("POST", r.Method));
        // The browser talks to its own origin and the namespace's codec server, nothing else; the server never gets the plain text.
        Assert.All(seen, r => Assert.True(r.Url.StartsWith(site.Ui + "/", StringComparison.Ordinal) || r.Url.StartsWith(site.Codec.Address + "/", StringComparison.Ordinal), r.Url));
        Assert.All(seen.Where(r => r.Url.StartsWith(site.Ui + "/", StringComparison.Ordinal)), r => Assert.DoesNotContain(site.Secret, r.Url + r.PostData, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutACodecEndpoint_TheWorkflowPage_ShowsTheEncodedPayloads()
    {
        await site.UseCodecServerAsync(null);
        var (page, errors) = await site.NewPageAsync();
        var requests = Record(page);

        await page.GotoAsync($"{site.Ui}/namespaces/default/workflows/{site.WorkflowId}");
        await Chromium.WaitForAddressAsync(page, url => url.EndsWith("/history", StringComparison.Ordinal), s_wait);
        await ExpectVisibleAsync(page, page.GetByText("Workflow Execution Completed").First, errors, "workflow-encoded");
        await ExpectVisibleAsync(page, page.GetByText(EncodedEncoding).First, errors, "workflow-encoded");
        await Chromium.ScreenshotAsync(page, "workflow-encoded");

        Assert.DoesNotContain(site.Secret, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(Snapshot(requests), r => r.Url.StartsWith(site.Codec.Address, StringComparison.Ordinal));
    }

    /// <summary>How the page shows an undecoded payload's encoding, <c>binary/encrypted</c>: its metadata value as sent, base64.</summary>
    private static string EncodedEncoding => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(AesGcmPayloadCodec.Encoding));

    private sealed record SeenRequest(string Method, string Url, Dictionary<string, string> Headers, string PostData);

    /// <summary>Every request the page makes, as it makes it.</summary>
    private static List<SeenRequest> Record(IPage page)
    {
        var requests = new List<SeenRequest>();
        page.Request += (_, request) =>
        {
            lock (requests)
            {
                requests.Add(new SeenRequest(request.Method, request.Url, request.Headers, request.PostData ?? string.Empty));
            }
        };
        return requests;
    }

    private static List<SeenRequest> Snapshot(List<SeenRequest> requests)
    {
        lock (requests)
        {
            return [.. requests];
        }
    }

    private static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot) =>
        Chromium.ExpectVisibleAsync(page, locator, errors, screenshot, s_wait);
}
