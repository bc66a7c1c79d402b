using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Temporalio.Activities;
using Temporalio.Client;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// <c>--log-format json</c> on the real executable at debug level: one JSON object per line with an event id, a call's
/// lines carrying the log id of its audit record, and no secret or payload anywhere in the run's output (canaries:
/// the master key, an API key presented as a credential, workflow input, memo, signal, activity failure and result).
/// </summary>
public sealed class StructuredLogTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("bastion-json-logs-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Workflow]
    public sealed class CanaryWorkflow
    {
        private string? _signal;

        [WorkflowRun]
        public async Task<string> RunAsync(string input)
        {
            await Workflow.WaitConditionAsync(() => _signal != null);
            var greeting = await Workflow.ExecuteActivityAsync(
                () => Greet(input),
                new() { StartToCloseTimeout = TimeSpan.FromSeconds(10), RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(10) } });
            return greeting + _signal;
        }

        [WorkflowSignal]
        public Task SignalAsync(string value)
        {
            _signal = value;
            return Task.CompletedTask;
        }

        [Activity]
        public static string Greet(string input) =>
            ActivityExecutionContext.Current.Info.Attempt == 1
                ? throw new InvalidOperationException("failure-canary-" + input)
                : "result-canary-" + input;
    }

    [Fact]
    public async Task AJsonLogRun_HasEventIds_CorrelatesCallsWithTheirAuditRecords_AndLeaksNoCanary()
    {
        var masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var apiKey = "apikey-canary-" + Guid.NewGuid().ToString("N");
        var input = "payload-canary-" + Guid.NewGuid().ToString("N");
        var memo = "memo-canary-" + Guid.NewGuid().ToString("N");
        var signal = "signal-canary-" + Guid.NewGuid().ToString("N");
        var port = ServerProcess.FreePort();
        string[] arguments =
        [
            "server", "start-dev", "--port", port.ToString(CultureInfo.InvariantCulture), "--headless", "--db-filename", Path.Combine(_directory.FullName, "b.db"),
            "--log-format", "json", "--log-level", "debug", "--audit-export", "stdout",
        ];
        var server = await ServerProcess.StartAsync(port, arguments, ServerProcess.ReadyLine, _directory.FullName, environment: new Dictionary<string, string> { ["BASTION_MASTER_KEY"] = masterKey });
        using (server)
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            var taskQueue = ServerFixture.NewTaskQueue();
            using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<CanaryWorkflow>().AddActivity(CanaryWorkflow.Greet));
            var workflowId = "json-logs-" + Guid.NewGuid();
            await worker.ExecuteAsync(async () =>
            {
                var handle = await client.StartWorkflowAsync(
                    (CanaryWorkflow wf) => wf.RunAsync(input),
                    new(workflowId, taskQueue) { Memo = new Dictionary<string, object> { ["note"] = memo } });
                await handle.SignalAsync(wf => wf.SignalAsync(signal));
                Assert.Equal("result-canary-" + input + signal, await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            });

            // A credential (the dev server lets the loopback caller in whatever it presents): it must not be echoed.
            var withKey = await TemporalClient.ConnectAsync(new(server.Address)
            {
                Namespace = "default",
                RpcMetadata = new Dictionary<string, string> { ["authorization"] = "Bearer " + apiKey }, // as ApiKey would, without the TLS it implies
                RpcRetry = new() { MaxRetries = 0 },
            });
            await withKey.GetWorkflowHandle(workflowId).DescribeAsync();

            // The start's audit record is exported to stdout; its log id is on the call's debug line (event 1003).
            Assert.True(await server.PrintedAsync(l => l.Contains("\"operation\":\"temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution\"", StringComparison.Ordinal)));
            var lines = server.Output.ToList();
            var logs = lines.Where(l => l.StartsWith("{\"Timestamp\"", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.NotEmpty(logs);
            Assert.All(logs, l => Assert.True(l.TryGetProperty("EventId", out _) && l.TryGetProperty("Category", out _) && l.TryGetProperty("LogLevel", out _), l.ToString()));
            var startEnded = logs.First(l => l.GetProperty("EventId").GetInt32() == 1003 && l.GetProperty("State").GetProperty("Method").GetString() == "StartWorkflowExecution");
            var callScope = startEnded.GetProperty("Scopes").EnumerateArray().First(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("AuditLogId", out _));
            var auditLogId = callScope.GetProperty("AuditLogId").GetString();
            Assert.Contains(lines, l => l.Contains($"\"log_id\":\"{auditLogId}\"", StringComparison.Ordinal) && l.Contains("StartWorkflowExecution", StringComparison.Ordinal));

            foreach (var canary in new[] { masterKey, apiKey, input, memo, signal })
            {
                Assert.DoesNotContain(lines, l => l.Contains(canary, StringComparison.Ordinal));
            }
        }
    }
}
