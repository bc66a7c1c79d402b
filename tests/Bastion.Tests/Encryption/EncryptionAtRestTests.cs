using Bastion.Server;
using Microsoft.Data.Sqlite;
using Temporalio.Activities;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Encryption;

/// <summary>
/// Encryption at rest end to end: the official SDK against a real server on a SQLite file, then a byte scan of
/// every file of the store; and records moved between rows are refused.
/// </summary>
public sealed class EncryptionAtRestTests : StoreDirectoryTest
{
    private const string TypeCanary = "CanaryWorkflowTypeQ7x";
    private const string ActivityCanary = "CanaryActivityTypeQ7x";
    private const string SignalCanary = "CanarySignalNameQ7x";
    private static readonly string[] s_outcomes = ["ok", "fail"];
    private static readonly SearchAttributeKey<string> s_keyword = SearchAttributeKey.CreateKeyword("CustomKeywordField");
    private static readonly SearchAttributeKey<string> s_text = SearchAttributeKey.CreateText("CustomTextField");
    private static readonly SearchAttributeKey<IReadOnlyCollection<string>> s_keywordList = SearchAttributeKey.CreateKeywordList("CustomKeywordListField");
    [Workflow(TypeCanary)]
    public sealed class CanaryWorkflow
    {
        private string? _signal;

        [WorkflowRun]
        public async Task<string> RunAsync(string input)
        {
            var fromActivity = await Workflow.ExecuteActivityAsync(
                (CanaryActivities a) => a.EchoAsync(input + "-activity"),
                new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
            await Workflow.WaitConditionAsync(() => _signal != null);
            if (input.Contains("fail", StringComparison.Ordinal))
            {
                throw new ApplicationFailureException("failure-" + input, nonRetryable: true);
            }

            return "result-" + fromActivity + "-" + _signal;
        }

        [WorkflowSignal(SignalCanary)]
        public Task SignalAsync(string value)
        {
            _signal = value;
            return Task.CompletedTask;
        }
    }

    public sealed class CanaryActivities
    {
        [Activity(ActivityCanary)]
        public Task<string> EchoAsync(string value) => Task.FromResult("echo-" + value);
    }

    [Fact]
    public async Task CanaryWorkflows_Complete_AndNoFileOfTheStoreHoldsACanary()
    {
        var canary = "cnry" + Guid.NewGuid().ToString("N")[..12];
        var canaries = new List<string> { TypeCanary, ActivityCanary, SignalCanary };
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.Connection.OperatorService.AddSearchAttributesAsync(new()
            {
                Namespace = "default",
                SearchAttributes =
                {
                    ["CustomKeywordField"] = Temporalio.Api.Enums.V1.IndexedValueType.Keyword,
                    ["CustomTextField"] = Temporalio.Api.Enums.V1.IndexedValueType.Text,
                    ["CustomKeywordListField"] = Temporalio.Api.Enums.V1.IndexedValueType.KeywordList,
                },
            });
            var taskQueue = "tq-" + canary;
            canaries.Add(taskQueue);
            using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<CanaryWorkflow>().AddAllActivities(new CanaryActivities()));
            await worker.ExecuteAsync(async () =>
            {
                foreach (var outcome in s_outcomes)
                {
                    var id = $"wf-{outcome}-{canary}";
                    var options = new WorkflowOptions(id, taskQueue)
                    {
                        Memo = new Dictionary<string, object> { ["memo"] = "memo-" + canary },
                        TypedSearchAttributes = new SearchAttributeCollection.Builder()
                            .Set(s_keyword, "sa-" + canary)
                            .Set(s_text, "text words " + canary)
                            .Set(s_keywordList, ["list-" + canary])
                            .ToSearchAttributeCollection(),
                    };
                    var handle = await client.StartWorkflowAsync((CanaryWorkflow wf) => wf.RunAsync($"input-{outcome}-{canary}"), options);
                    await handle.SignalAsync(wf => wf.SignalAsync("signal-" + canary));
                    if (outcome == "ok")
                    {
                        Assert.Equal($"result-echo-input-ok-{canary}-activity-signal-{canary}", await handle.GetResultAsync());
                    }
                    else
                    {
                        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
                        Assert.Contains("failure-input-fail-" + canary, failure.InnerException!.Message, StringComparison.Ordinal);
                    }
                }
            }).WaitAsync(TimeSpan.FromSeconds(90));

            // A schedule (id, action, memo, search attributes, notes) and the run its trigger starts.
            var schedule = await client.CreateScheduleAsync(
                "sched-" + canary,
                new Temporalio.Client.Schedules.Schedule(
                    Temporalio.Client.Schedules.ScheduleActionStartWorkflow.Create(TypeCanary, ["sched-input-" + canary], new WorkflowOptions("sched-wf-" + canary, taskQueue)),
                    new Temporalio.Client.Schedules.ScheduleSpec { CronExpressions = ["0 0 1 1 *"] }),
                new Temporalio.Client.Schedules.ScheduleOptions
                {
                    Memo = new Dictionary<string, object> { ["memo"] = "sched-memo-" + canary },
                    TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(s_keyword, "sched-sa-" + canary).ToSearchAttributeCollection(),
                });
            await schedule.PauseAsync("note-" + canary);
            await schedule.TriggerAsync();
            Assert.Equal(
                ["sched-" + canary],
                await client.ListSchedulesAsync(new() { Query = $"CustomKeywordField = 'sched-sa-{canary}'" }).Select(e => e.Id).ToListAsync());

            // Visibility rows exist and answer through blind indexes (equality) and decoded rows (prefix, contains).
            Assert.Equal(2, (await client.CountWorkflowsAsync($"CustomKeywordField = 'sa-{canary}'")).Count);
            Assert.Equal(2, (await client.CountWorkflowsAsync($"TaskQueue = '{taskQueue}' AND WorkflowId STARTS_WITH 'wf-'")).Count);
            Assert.Equal(1, (await client.CountWorkflowsAsync($"WorkflowId = 'wf-ok-{canary}'")).Count);
            Assert.Equal(2, (await client.CountWorkflowsAsync($"CustomTextField = '{canary.ToUpperInvariant()}' AND CustomKeywordListField = 'list-{canary}'")).Count);
            var listed = await client.ListWorkflowsAsync($"WorkflowId IN ('wf-fail-{canary}', 'other') AND WorkflowType = '{TypeCanary}'").ToListAsync();
            Assert.Equal($"wf-fail-{canary}", Assert.Single(listed).Id);

            // A batch job: its id, reason, query and signal input are customer data too.
            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = "default",
                JobId = "job-" + canary,
                Reason = "reason-" + canary,
                VisibilityQuery = $"WorkflowId = 'wf-ok-{canary}'",
                SignalOperation = new()
                {
                    Signal = "batch-signal-" + canary,
                    Input = new() { Payloads_ = { new Temporalio.Api.Common.V1.Payload { Data = Google.Protobuf.ByteString.CopyFromUtf8("batch-input-" + canary) } } },
                },
            });
            var batch = await client.WorkflowService.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "job-" + canary });
            Assert.Equal("reason-" + canary, batch.Reason);

            // While the server runs: the database, its WAL and shared-memory files.
            canaries.Add(canary);
            Assert.Empty(CanaryScan.Find(StoreDirectory, canaries));
        }

        SqliteConnection.ClearAllPools();
        Assert.Empty(CanaryScan.Find(StoreDirectory, canaries));
    }

    [Fact]
    public async Task AuditRecords_AreEncrypted_AndTheCliStillVerifiesAndReadsThem()
    {
        var workflowId = "audited-" + Guid.NewGuid().ToString("N");
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.StartWorkflowAsync("Any", [], new(workflowId, "tq-none"));
        }

        SqliteConnection.ClearAllPools();
        Assert.Empty(CanaryScan.Find(StoreDirectory, [workflowId, "StartWorkflowExecution"]));
        var (verifyExit, verified, _) = await Cli.CliProcess.RunAsync("audit", "verify", "--db-filename", DatabaseFile);
        Assert.Equal(0, verifyExit);
        Assert.Contains("intact:", verified, StringComparison.Ordinal);
        var (tailExit, tail, _) = await Cli.CliProcess.RunAsync("audit", "tail", "--db-filename", DatabaseFile, "-n", "100");
        Assert.Equal(0, tailExit);
        Assert.Contains(workflowId, tail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACiphertextCopiedToAnotherRow_IsRefusedOnRead()
    {
        string first;
        string second;
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            first = (await client.StartWorkflowAsync("Any", [], new("tamper-a-" + Guid.NewGuid(), "tq-none"))).ResultRunId!;
            second = (await client.StartWorkflowAsync("Any", [], new("tamper-b-" + Guid.NewGuid(), "tq-none"))).ResultRunId!;
        }

        using (var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false"))
        {
            connection.Open();
            using var copy = connection.CreateCommand();
            copy.CommandText = "UPDATE executions SET state = (SELECT state FROM executions WHERE run_id = $from) WHERE run_id = $to;";
            copy.Parameters.AddWithValue("$from", first);
            copy.Parameters.AddWithValue("$to", second);
            Assert.Equal(1, copy.ExecuteNonQuery());
        }

        await using (var server = await StartAsync())
        {
            var codec = server.Encryption.Codec;
            using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false");
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT namespace_id, state FROM executions WHERE run_id = $run;";
            read.Parameters.AddWithValue("$run", second);
            using var reader = read.ExecuteReader();
            Assert.True(reader.Read());
            var error = Assert.Throws<InvalidDataException>(() =>
                codec.Decode(Bastion.Storage.RecordIdentities.Execution(reader.GetString(0), second), (byte[])reader[1]));
            Assert.Contains("failed authentication: it was altered or copied from another row", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task APlainDatabase_IsRefusedWithEncryptionOn_AndAnEncryptedOne_WithEncryptionOff()
    {
        await (await StartAsync(encryption: false)).DisposeAsync();
        await using (var server = await StartAsync(encryption: false))
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.StartWorkflowAsync("Any", [], new("plain-canary-QZ1", "tq-none"));
        }

        // The scan sees what is there: with encryption off the workflow id is in the file.
        SqliteConnection.ClearAllPools();
        Assert.NotEmpty(CanaryScan.Find(StoreDirectory, ["plain-canary-QZ1"]));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync(encryption: true));
        Assert.Contains("written without encryption at rest", refused.Message, StringComparison.Ordinal);

        var otherFile = Path.Combine(StoreDirectory, "encrypted.db");
        await (await BastionServer.StartAsync(Options(otherFile, encryption: true))).DisposeAsync();
        var off = await Assert.ThrowsAsync<ArgumentException>(() => BastionServer.StartAsync(Options(otherFile, encryption: false)));
        Assert.Contains("encryption cannot be turned off", off.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMasterKeyFile_IsCreatedWithMode0600_AndAnotherKeyCannotOpenTheDatabase()
    {
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.StartWorkflowAsync("Any", [], new("keyed-" + Guid.NewGuid(), "tq-none"));
        }

        var keyFile = DatabaseFile + ".master-key";
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        File.Move(keyFile, keyFile + ".saved");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync());
        Assert.Contains("this database was encrypted with another master key", error.Message, StringComparison.Ordinal);
    }

    private Task<BastionServer> StartAsync(bool encryption = true) => BastionServer.StartAsync(Options(DatabaseFile, encryption));

    private static ServerOptions Options(string file, bool encryption) =>
        new() { Port = 0, DatabaseFile = file, Encryption = encryption, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
}
