using System.Diagnostics;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Storage.Encryption;
using Microsoft.Data.Sqlite;
using Temporalio.Client;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Encryption;

/// <summary>
/// <c>bastion keys rotate</c> on the database of a running server while workflows run: they all complete, new
/// writes use the new key, the background re-encryption moves every old record and the old version is retired.
/// </summary>
public sealed class KeyRotationTests : StoreDirectoryTest
{
    [Workflow]
    public sealed class WaitingWorkflow
    {
        private bool _go;

        [WorkflowRun]
        public async Task<string> RunAsync(string input)
        {
            await Workflow.WaitConditionAsync(() => _go);
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(10));
            return "done-" + input;
        }

        [WorkflowSignal]
        public Task GoAsync()
        {
            _go = true;
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task RotateWhileWorkflowsRun_AllComplete_AndNoRecordKeepsTheOldKey()
    {
        var options = new ServerOptions
        {
            Port = 0,
            DatabaseFile = DatabaseFile,
            ReEncryptionInterval = TimeSpan.FromMilliseconds(200),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        await using var server = await BastionServer.StartAsync(options);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var taskQueue = "tq-" + Guid.NewGuid().ToString("N");
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<WaitingWorkflow>());
        await worker.ExecuteAsync(async () =>
        {
            var before = new List<WorkflowHandle<WaitingWorkflow, string>>();
            for (var i = 0; i < 5; i++)
            {
                before.Add(await client.StartWorkflowAsync((WaitingWorkflow wf) => wf.RunAsync($"before-{i}"), new($"rotate-before-{i}-{Guid.NewGuid()}", taskQueue)));
            }

            var (exitCode, output) = await RunCliAsync("keys", "rotate", "-f", DatabaseFile);
            Assert.True(exitCode == 0, output);
            Assert.Contains("key v2 is current", output, StringComparison.Ordinal);

            var after = new List<WorkflowHandle<WaitingWorkflow, string>>();
            for (var i = 0; i < 5; i++)
            {
                after.Add(await client.StartWorkflowAsync((WaitingWorkflow wf) => wf.RunAsync($"after-{i}"), new($"rotate-after-{i}-{Guid.NewGuid()}", taskQueue)));
            }

            foreach (var handle in before.Concat(after))
            {
                await handle.SignalAsync(wf => wf.GoAsync());
            }

            for (var i = 0; i < 5; i++)
            {
                Assert.Equal($"done-before-{i}", await before[i].GetResultAsync());
                Assert.Equal($"done-after-{i}", await after[i].GetResultAsync());
            }
        }).WaitAsync(TimeSpan.FromSeconds(90));

        // The background re-encryption retires v1 after two passes that find no record using it.
        var keys = server.Encryption.Keys!;
        // The namespace's keys and the audit log's (its records are encrypted with keys of their own).
        Assert.Equal(2, keys.Namespaces.Count);
        Assert.Contains(RecordIdentities.AuditNamespaceId, keys.Namespaces);
        var deadline = Stopwatch.StartNew();
        // (Also until the server has read v2 at all: the CLI wrote it to the file, the server picks it up on its next pass.)
        while (keys.Namespaces.Any(n => !keys.Versions(n).SequenceEqual([2])) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }

        Assert.All(keys.Namespaces, n => Assert.Equal([2], keys.Versions(n)));
        using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false");
        connection.Open();
        Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM data_keys WHERE version = 1 AND (retired = 0 OR length(wrapped) > 0);"));
        var records = Blobs(connection, "SELECT state FROM executions").Concat(Blobs(connection, "SELECT data FROM history"))
            .Concat(Blobs(connection, "SELECT info FROM visibility")).Concat(Blobs(connection, "SELECT data FROM audit_log")).ToList();
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.Equal(2, AesGcmRecordCodec.VersionOf(r)));
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    private static List<byte[]> Blobs(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        var result = new List<byte[]>();
        while (reader.Read())
        {
            result.Add((byte[])reader[0]);
        }

        return result;
    }

    private static async Task<(int ExitCode, string Output)> RunCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bastion.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout + await stderr);
    }
}
