using System.Diagnostics;
using System.Globalization;
using Bastion.Storage;
using Bastion.Storage.Encryption;
using Bastion.Storage.Sqlite;
using Temporalio.Client;

namespace Bastion.Benchmarks;

/// <summary>
/// Start-up with much pending work (issue 14's number): seeds a database with <c>timers</c> pending user timers (due in
/// a year) and <c>tasks</c> pending activity tasks (due now, for a queue nobody polls), written through the storage
/// provider with the server's own encryption, then starts the real server on it and reports the time until it answers
/// a call and its resident memory (now and peak).
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/Bastion.Benchmarks -- startup [timers] [tasks] [path/to/bastion.dll]</c>;
/// the server dll defaults to the Release build of <c>src/Bastion.Cli</c>.
/// </remarks>
internal static class StartupHarness
{
    private const int UserTimer = 12; // TaskKind.UserTimer
    private const int ActivityTask = 2; // TaskKind.ActivityTask
    private const int Batch = 500;

    public static async Task RunAsync(string[] args)
    {
        var timers = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var tasks = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
        var server = args.Length > 2 ? args[2] : Path.Combine(RepositoryRoot(), "src/Bastion.Cli/bin/Release/net10.0/bastion.dll");
        var directory = Directory.CreateTempSubdirectory("bastion-startup-").FullName;
        var database = Path.Combine(directory, "bastion.db");
        try
        {
            var seeding = Stopwatch.StartNew();
            await SeedAsync(database, timers, tasks);
            Console.WriteLine($"seeded {timers} timers and {tasks} tasks in {seeding.Elapsed.TotalSeconds:0.0} s");
            for (var run = 1; run <= 3; run++)
            {
                var (ready, answered, rss, peak) = await StartAsync(server, database);
                Console.WriteLine(
                    $"run {run}: ready line {ready.TotalSeconds:0.00} s, first call answered {answered.TotalSeconds:0.00} s, RSS {rss / 1024} MB, peak {peak / 1024} MB");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task SeedAsync(string database, int timers, int tasks)
    {
        await using var store = SqliteStorageProvider.OpenFile(database);
        await store.MigrateAsync(4, CancellationToken.None);
        await store.EnsureClusterSettingAsync("encryption", "aes-256-gcm", CancellationToken.None);
        var keys = new KeyRing(store, MasterKey.FromFile(database + ".master-key"));
        var codec = new AesGcmRecordCodec(keys);
        const string ns = "seeded-namespace";
        await keys.EnsureAsync(ns, CancellationToken.None);
        var ranges = new Dictionary<int, long>();
        for (var shard = 0; shard < 4; shard++)
        {
            ranges[shard] = (await store.AcquireShardAsync(shard, "startup-seeder", DateTime.UtcNow, CancellationToken.None)).RangeId;
        }

        var due = DateTime.UtcNow.AddYears(1);
        var writes = new List<Transition>(Batch);
        for (var i = 0; i < timers + tasks; i++)
        {
            var timer = i < timers;
            var shard = i % 4;
            var runId = Guid.NewGuid().ToString();
            var workflowId = $"seeded-{i}";
            var key = new TaskKey(runId, timer ? UserTimer : ActivityTask, 5, 0);
            var task = new TaskRecord(
                shard,
                ns,
                codec.EncodeText(RecordIdentities.TaskWorkflowId(ns, key), workflowId),
                runId,
                key.Kind,
                key.EventId,
                key.Attempt,
                timer ? due : DateTime.UtcNow,
                timer ? null : codec.EncodeText(RecordIdentities.TaskQueue(ns, key), "nobody-polls"));
            writes.Add(new Transition([new ExecutionWrite
            {
                ShardId = shard,
                RangeId = ranges[shard],
                NamespaceId = ns,
                WorkflowId = codec.Index(ns, RecordIdentities.WorkflowIdIndex, workflowId),
                RunId = runId,
                ExpectedVersion = 0,
                NewVersion = 1,
                Status = 1,
                State = codec.Encode(RecordIdentities.Execution(ns, runId), [1, 2, 3]),
                NewTasks = [task],
            }]));
            if (writes.Count == Batch || i == timers + tasks - 1)
            {
                var result = await store.CommitAsync(new CommitBatch(writes, []), CancellationToken.None);
                if (!result.Committed)
                {
                    throw new InvalidOperationException("Seeding was rejected: " + result.Rejected.First(r => r is not null)!.Message);
                }

                writes.Clear();
            }
        }
    }

    private static async Task<(TimeSpan Ready, TimeSpan Answered, long RssKb, long PeakKb)> StartAsync(string server, string database)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { server, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--db-filename", database, "--log-level", "warn" })
        {
            info.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("The server did not start.");
        var ready = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("Bastion dev server on ", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult(clock.Elapsed);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine("server: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var readyAt = await ready.Task.WaitAsync(TimeSpan.FromMinutes(5));
            var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{port}") { Namespace = "default" });
            await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
            var answeredAt = clock.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(2)); // let the start-up's work settle before reading memory
            var (rss, peak) = Memory(process.Id);
            return (readyAt, answeredAt, rss, peak);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>VmRSS and VmHWM (peak) in kB, from /proc.</summary>
    private static (long Rss, long Peak) Memory(int pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return (rss, peak);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Bastion.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Run from inside the repository.");
    }
}
