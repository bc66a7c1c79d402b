using System.Globalization;
using System.Net;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Server;
using Bastion.Server.Tls;
using Bastion.Tests.Integration;
using Temporalio.Activities;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Server;

/// <summary>
/// The metrics listener (<c>--metrics-port</c>) of a real server driven by the SDK: Temporal's metric names and labels
/// in Prometheus text at <c>/metrics</c>, Bastion's own, and <c>/healthz</c> / <c>/readyz</c>; nothing else there.
/// </summary>
public sealed class MetricsTests : IAsyncLifetime, IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("bastion-metrics-");
    private BastionServer _server = null!;
    private HttpClient _http = null!;

    [Workflow]
    public sealed class GreetingWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) =>
            Workflow.ExecuteActivityAsync(() => Greet(name), new() { StartToCloseTimeout = TimeSpan.FromSeconds(10) });

        [Activity]
        public static string Greet(string name) => $"hi {name}";
    }

    public async Task InitializeAsync()
    {
        var options = new ServerOptions
        {
            Port = 0,
            MetricsPort = 0,
            DatabaseFile = Path.Combine(_directory.FullName, "bastion.db"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        options.Audit.Exports.Add(AuditExportSpec.Parse("file:" + Path.Combine(_directory.FullName, "audit.jsonl")));
        _server = await BastionServer.StartAsync(options);
        _http = new HttpClient { BaseAddress = new Uri($"http://{_server.MetricsAddress}") };
    }

    public void Dispose() => _http?.Dispose();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Scrape_AfterAWorkflowWithAnActivity_HasTemporalsMetricsAndBastionsOwn()
    {
        var client = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        var taskQueue = ServerFixture.NewTaskQueue();
        var eagerQueue = ServerFixture.NewTaskQueue();

        // One worker's activities come by poll (eager execution off), the other's in its workflow task's completion.
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue) { DisableEagerActivityExecution = true }.AddWorkflow<GreetingWorkflow>().AddActivity(GreetingWorkflow.Greet));
        using var eagerWorker = new TemporalWorker(client, new TemporalWorkerOptions(eagerQueue).AddWorkflow<GreetingWorkflow>().AddActivity(GreetingWorkflow.Greet));
        await worker.ExecuteAsync(() => eagerWorker.ExecuteAsync(async () =>
        {
            Assert.Equal("hi ops", await client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("ops"), new("metrics-" + Guid.NewGuid(), taskQueue)));
            Assert.Equal("hi ops", await client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("ops"), new("metrics-eager-" + Guid.NewGuid(), eagerQueue)));
        }));
        await Assert.ThrowsAsync<RpcException>(() => client.GetWorkflowHandle("no-such-workflow").DescribeAsync());

        var text = string.Empty;
        bool Has(string name, params string[] labels) => Sample(text, name, labels) is > 0;
        string[] ns = ["namespace=\"default.local\""];
        string[] queue = [.. ns, $"taskqueue=\"{taskQueue}\""];
        Assert.True(
            await Eventually.HoldsAsync(async () =>
            {
                text = await _http.GetStringAsync("/metrics");
                return Has("service_requests", [.. ns, "operation=\"StartWorkflowExecution\""])
                    && Has("service_latency_count", [.. ns, "operation=\"StartWorkflowExecution\""])
                    && Has("service_latency_bucket", [.. ns, "operation=\"PollWorkflowTaskQueue\"", "le=\"+Inf\""])
                    && Has("service_errors", [.. ns, "operation=\"DescribeWorkflowExecution\""])
                    && Has("service_error_with_type", [.. ns, "operation=\"DescribeWorkflowExecution\"", "error_type=\"NotFound\""])
                    && Has("persistence_requests", "operation=\"GroupCommit\"")
                    && Has("persistence_latency_count", "operation=\"GroupCommit\"")
                    && Has("bastion_group_commit_batch_size_count")
                    && Has("poll_success", [.. queue, "task_type=\"Workflow\""])
                    && Has("poll_success", [.. queue, "task_type=\"Activity\""])
                    && Has("task_schedule_to_start_latency_count", [.. queue, "task_type=\"Activity\""])
                    && Has("activity_eager_execution", [.. ns, $"taskqueue=\"{eagerQueue}\""])
                    && Has("workflow_success", ns)
                    && Sample(text, "numshards_gauge") == 4
                    && Sample(text, "bastion_ui_sessions") == 0;
            }),
            text);
        Assert.Contains("# TYPE service_requests counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE service_latency histogram", text, StringComparison.Ordinal);
        Assert.DoesNotContain("service_requests_total", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hi ops", text, StringComparison.Ordinal); // names and counts, never payloads
    }

    [Fact]
    public async Task Scrape_HasTheAuditExportLag_AndWhenANamespacesCaExpires()
    {
        using var ca = CertificateFactory.CreateCa("Metrics test CA", DateTimeOffset.UtcNow.AddDays(-1), new DateTimeOffset(2031, 2, 3, 4, 5, 6, TimeSpan.Zero));
        await _server.Namespaces.SetTlsAsync(_server.Namespaces.Resolve("default"), new NamespaceTlsPolicy { CaBundlePem = CertificateFactory.CertificatePem(ca) });

        var text = await _http.GetStringAsync("/metrics");
        Assert.Equal(new DateTimeOffset(2031, 2, 3, 4, 5, 6, TimeSpan.Zero).ToUnixTimeSeconds(), Sample(text, "bastion_namespace_ca_expiry_timestamp_seconds", "namespace=\"default.local\""));
        Assert.NotNull(Sample(text, "bastion_audit_export_lag_seconds", "sink=\"file:"));
    }

    [Fact]
    public async Task Healthz_And_Readyz_AreOk_OnARunningServer_AndOtherPathsAreNotFound()
    {
        Assert.Contains("\"alive\"", await _http.GetStringAsync("/healthz"), StringComparison.Ordinal);
        var ready = await _http.GetAsync(new Uri("/readyz", UriKind.Relative));
        var body = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("\"store\":\"reachable\"", body, StringComparison.Ordinal);
        Assert.Contains("\"shards\":\"4/4 owned\"", body, StringComparison.Ordinal);
        Assert.Contains("\"migrations\":\"done\"", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri("/api/v1/namespaces/default", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task WithoutAMetricsPort_NoMetricsListener()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        Assert.Null(server.MetricsAddress);
    }

    [Fact]
    public async Task AMetricsPortOutOfRange_IsRefused_NamingIt()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => BastionServer.StartAsync(new ServerOptions { Port = 0, MetricsPort = 65536 }));
        Assert.Equal("--metrics-port 65536: expected a port number from 0 to 65535.", e.Message);
    }

    /// <summary>The value of the first sample of <paramref name="name"/> that carries every one of <paramref name="labels"/>; null if none.</summary>
    private static double? Sample(string text, string name, params string[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            // name{label="value",...} value [timestamp], or name value [timestamp]
            var end = line.IndexOfAny(['{', ' ']);
            if (line.StartsWith('#') || end <= 0 || line[..end] != name || !labels.All(l => line.Contains(l, StringComparison.Ordinal)))
            {
                continue;
            }

            var rest = line[end] == '{' ? line[(line.LastIndexOf('}') + 1)..] : line[end..];
            return double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }

        return null;
    }
}
