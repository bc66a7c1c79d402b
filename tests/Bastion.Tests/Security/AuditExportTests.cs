using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Bastion.Security.Audit;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Tests.Integration;

namespace Bastion.Tests.Security;

/// <summary>Export sinks: at-least-once delivery from a durable cursor, also across a sink's outage.</summary>
public sealed class AuditExportTests
{
    [Fact]
    public async Task HttpSink_StoppedThenRestarted_ReceivesEveryRecord()
    {
        // The receiver holds its port from the start (another test's listener could take a port picked and released).
        var received = new ConcurrentDictionary<string, string>();
        var (url, first) = Receiver.OnFreePort(received);
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Error };
        options.Audit.Exports.Add(AuditExportSpec.Parse(url));
        await using var server = await BastionServer.StartAsync(options);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });

        using (first)
        {
            await StartSomeAsync(client, 5);
            await WaitUntilAllDeliveredAsync(server, received);
        }

        // The sink is down: calls still succeed (their records are on disk) and wait for it.
        await StartSomeAsync(client, 10);
        using (var sink = await Receiver.OnAsync(url, received))
        {
            await StartSomeAsync(client, 3);
            await WaitUntilAllDeliveredAsync(server, received);
        }

        var stored = await server.AuditStore.AllAsync();
        Assert.Equal(stored.Select(AuditReads.PlaceOf).Order(StringComparer.Ordinal), received.Keys.Order(StringComparer.Ordinal));
        Assert.All(stored, r => Assert.Equal(System.Text.Encoding.UTF8.GetString(r.Data), received[AuditReads.PlaceOf(r)]));
    }

    [Fact]
    public async Task FileSink_RotatesAndKeepsEveryRecordInOrder()
    {
        var directory = Directory.CreateTempSubdirectory("bastion-audit-file-").FullName;
        try
        {
            var path = Path.Combine(directory, "audit.jsonl");
            var target = new JsonLinesFileTarget(path, maxBytes: 600, maxFiles: 50);
            var records = Enumerable.Range(1, 12).Select(i => new StoredAuditRecord("node/test", i, DateTime.UtcNow, "a", null, System.Text.Encoding.UTF8.GetBytes($$"""{"seq":{{i}},"pad":"{{new string('x', 200)}}"}"""), [])).ToList();
            foreach (var chunk in records.Chunk(2))
            {
                await target.DeliverAsync(chunk, CancellationToken.None);
            }

            var files = Directory.GetFiles(directory).OrderByDescending(f => f == path ? 0 : int.Parse(f[(path.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.True(files.Count > 1);
            var seqs = files.SelectMany(File.ReadAllLines).Select(l => JsonNode.Parse(l)!["seq"]!.GetValue<long>());
            Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), seqs);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Export is a duty of the holder of shard 0 (one node of a cluster exports; the cursor is shared): a server that
    /// lost shard 0 stops delivering, and the records wait for the holder.
    /// </summary>
    [Fact]
    public async Task AServerWithoutShardZero_ExportsNothing()
    {
        var received = new ConcurrentDictionary<string, string>();
        var (url, sink) = Receiver.OnFreePort(received);
        using (sink)
        {
            var directory = Directory.CreateTempSubdirectory("bastion-audit-duty-").FullName;
            var options = new ServerOptions { Port = 0, DatabaseFile = Path.Combine(directory, "b.db"), Encryption = false, LogLevel = Microsoft.Extensions.Logging.LogLevel.Critical };
            options.Audit.Exports.Add(AuditExportSpec.Parse(url));
            var server = await BastionServer.StartAsync(options);
            try
            {
                var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
                await StartSomeAsync(client, 3);
                await WaitUntilAllDeliveredAsync(server, received);

                using (var intruder = Bastion.Storage.Sqlite.SqliteStorageProvider.OpenFile(options.DatabaseFile))
                {
                    await intruder.AcquireShardAsync(0, "intruder", DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
                }

                await server.Engine.RenewShardsAsync();
                Assert.False(server.Engine.OwnsShard(0));
                var before = received.Count;
                await client.WorkflowService.GetSystemInfoAsync(new()); // a record of its own, on this node's chain
                await Task.Delay(TimeSpan.FromSeconds(3)); // three export polls, plus the commit's wake-up
                Assert.Equal(before, received.Count);
            }
            finally
            {
                await server.DisposeAsync();
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static async Task StartSomeAsync(TemporalClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await client.StartWorkflowAsync("Exported", [], new("export-" + Guid.NewGuid(), "tq-export"));
        }
    }

    private static async Task WaitUntilAllDeliveredAsync(BastionServer server, ConcurrentDictionary<string, string> received)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            var chains = await server.AuditStore.ListAuditChainsAsync(CancellationToken.None);
            if (chains.All(c => Enumerable.Range(1, (int)c.Head.Sequence).All(s => received.ContainsKey($"{c.Chain}#{s}"))))
            {
                return;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    /// <summary>A local HTTP endpoint that keeps each JSON line it is sent, by sequence number.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        /// <summary>A receiver on a port of its own choosing; returns its URL.</summary>
        public static (string Url, Receiver Receiver) OnFreePort(ConcurrentDictionary<string, string> received)
        {
            for (var attempt = 0; ; attempt++)
            {
                var url = $"http://127.0.0.1:{ServerProcess.FreePort()}/ingest/";
                try
                {
                    return (url, new Receiver(url, received));
                }
                catch (HttpListenerException) when (attempt < 10)
                {
                    // Taken between picking and binding: pick another.
                }
            }
        }

        /// <summary>A receiver on <paramref name="url"/> again, once its port is free.</summary>
        public static async Task<Receiver> OnAsync(string url, ConcurrentDictionary<string, string> received)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return new Receiver(url, received);
                }
                catch (HttpListenerException) when (attempt < 100)
                {
                    await Task.Delay(100);
                }
            }
        }

        private Receiver(string prefix, ConcurrentDictionary<string, string> received)
        {
            _listener.Prefixes.Add(prefix);
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    using (var reader = new StreamReader(context.Request.InputStream))
                    {
                        foreach (var line in (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                        {
                            received[AuditReads.PlaceOf(line)] = line;
                        }
                    }

                    context.Response.StatusCode = 204;
                    context.Response.Close();
                }
            });
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait();
        }
    }
}
