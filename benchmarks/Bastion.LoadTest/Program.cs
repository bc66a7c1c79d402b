using System.Diagnostics;
using System.Globalization;
using System.Text;
using Bastion.LoadTest;
using Temporalio.Client;
using Temporalio.Worker;
using Temporalio.Worker.Tuning;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

LoadTestOptions options;
try
{
    options = LoadTestOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(LoadTestOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(LoadTestOptions.Usage);
    return 0;
}

string? serverDll = null;
try
{
    serverDll = options.Target is null ? options.ResolveServerDll() : null;
}
catch (FileNotFoundException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var mode = options.Target is not null
    ? "target"
    : options.Mode switch { StorageMode.File => "file", StorageMode.Memory => "memory", _ => "postgres" } + (options.Encryption ? "+enc" : "");
Console.WriteLine($"Bastion load test: mode={mode} workflows={options.Workflows} concurrency={options.Concurrency} " +
    $"warmup={options.Warmup} scenarios={string.Join(',', options.Scenarios)} cores={Environment.ProcessorCount}");
Console.WriteLine(serverDll is null ? $"Server: {options.Target}" : $"Server: dotnet {serverDll}");

using var cancel = new CancellationTokenSource();
IServerUnderTest? server = null;
void KillServer(object? sender, EventArgs e) => server?.Dispose();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    Console.Error.WriteLine("Interrupted: stopping.");
    cancel.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += KillServer;

var rows = new List<string>();
var failed = false;
try
{
    server = serverDll is null
        ? new RunningServer(options.Target!, options.TargetPid is { } pid ? Process.GetProcessById(pid) : null)
        : await ServerProcess.StartAsync(serverDll, options.Mode, options.Encryption, options.Port, options.KeepDb, options.ServerArgs, TimeSpan.FromSeconds(60));
    Console.WriteLine($"Server {server.Description}");
    var serverExited = server.Exited;
    _ = serverExited.ContinueWith(_ => cancel.Cancel(), TaskScheduler.Default);

    var client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(server.Target) { Namespace = "default" })
        .WaitAsync(TimeSpan.FromSeconds(30), cancel.Token);

    var taskQueue = "loadtest-" + Guid.NewGuid().ToString("N");
    var slots = Math.Max(100, 2 * options.Concurrency);
    var workerOptions = new TemporalWorkerOptions(taskQueue)
    {
        MaxConcurrentWorkflowTasks = slots,
        MaxConcurrentActivities = slots,
        MaxCachedWorkflows = Math.Max(1000, 4 * options.Concurrency),
    }
        .AddWorkflow<EchoWorkflow>()
        .AddWorkflow<OneActivityWorkflow>()
        .AddWorkflow<TimerWorkflow>()
        .AddActivity(BenchActivities.Greet);
    if (options.AutoscalingPollers)
    {
        workerOptions.WorkflowTaskPollerBehavior = new PollerBehavior.Autoscaling();
        workerOptions.ActivityTaskPollerBehavior = new PollerBehavior.Autoscaling();
    }
    else
    {
        workerOptions.MaxConcurrentWorkflowTaskPolls = options.WorkflowTaskPollers;
        workerOptions.MaxConcurrentActivityTaskPolls = options.ActivityTaskPollers;
    }

    Console.WriteLine($"Worker: task queue {taskQueue}, {slots} workflow-task and activity slots, " + (options.AutoscalingPollers
        ? "autoscaling pollers"
        : $"{options.WorkflowTaskPollers} workflow-task pollers, {options.ActivityTaskPollers} activity pollers")
        + (options.EagerStart ? ", eager start" : string.Empty));

    using var worker = new TemporalWorker(client, workerOptions);
    var runner = new ScenarioRunner(client, taskQueue, options.WorkflowTimeout, options.MaxErrors, options.EagerStart);
    var runId = Guid.NewGuid().ToString("N")[..8];
    using var self = Process.GetCurrentProcess();

    await worker.ExecuteAsync(
        async () =>
        {
            if (options.IdleSeconds > 0)
            {
                // What an idle worker (long polls only) costs both processes: a baseline for the per-workflow numbers.
                var idleServer0 = server.CpuTime();
                self.Refresh();
                var idleSelf0 = self.TotalProcessorTime;
                await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds), cancel.Token);
                var idleServer = server.CpuTime() - idleServer0 ?? TimeSpan.Zero;
                self.Refresh();
                var idleSelf = self.TotalProcessorTime - idleSelf0;
                Console.WriteLine();
                Console.WriteLine($"Idle {options.IdleSeconds} s with the worker polling: server CPU {idleServer.TotalSeconds:0.00} s, driver CPU {idleSelf.TotalSeconds:0.00} s");
            }

            foreach (var scenario in options.Scenarios)
            {
                Console.WriteLine();
                Console.WriteLine($"== {scenario} ({mode}) ==");
                if (options.Warmup > 0)
                {
                    var warm = await runner.RunAsync(scenario, $"warm-{scenario}-{runId}", options.Warmup, options.Concurrency, cancel.Token);
                    Console.WriteLine($"  warmup          {warm.Completed}/{warm.Requested} in {warm.Wall.TotalSeconds:0.00} s ({warm.Throughput:0.0}/s)");
                    PrintErrors(warm);
                    if (warm.Errors > 0)
                    {
                        failed = true;
                    }

                    cancel.Token.ThrowIfCancellationRequested();
                }

                var logLines0 = server.LinesAfterReady;
                var serverCpu0 = server.CpuTime();
                self.Refresh();
                var selfCpu0 = self.TotalProcessorTime;
                var result = await runner.RunAsync(scenario, $"run-{scenario}-{runId}", options.Workflows, options.Concurrency, cancel.Token);
                TimeSpan? serverCpu = server.HasExited ? null : server.CpuTime() - serverCpu0;
                self.Refresh();
                var selfCpu = self.TotalProcessorTime - selfCpu0;
                var logLines = server.LinesAfterReady - logLines0;

                var per1000 = result.Completed > 0 ? 1000.0 / result.Completed : double.NaN;
                Console.WriteLine($"  completed       {result.Completed}/{result.Requested} (errors {result.Errors})");
                Console.WriteLine($"  wall time       {result.Wall.TotalSeconds:0.00} s");
                Console.WriteLine($"  throughput      {result.Throughput:0.0} workflows/s");
                Console.WriteLine($"  latency (ms)    p50 {result.Percentile(50):0.0}  p95 {result.Percentile(95):0.0}  p99 {result.Percentile(99):0.0}  max {result.Percentile(100):0.0}");
                Console.WriteLine(serverCpu is { } cpu
                    ? $"  server CPU      {cpu.TotalSeconds:0.00} s = {cpu.TotalSeconds * per1000:0.00} s per 1000 workflows"
                    : "  server CPU      not measured");
                Console.WriteLine($"  driver CPU      {selfCpu.TotalSeconds:0.00} s = {selfCpu.TotalSeconds * per1000:0.00} s per 1000 workflows (client + worker)");
                if (!server.HasExited && server.MemoryMiB() is var (rss, peak))
                {
                    Console.WriteLine($"  server memory   RSS {rss:0} MiB, peak {peak:0} MiB");
                }

                Console.WriteLine($"  server log      {logLines} line(s) printed during the measured phase");
                PrintErrors(result);
                if (result.Errors > 0 || logLines > 0)
                {
                    failed |= result.Errors > 0;
                    if (logLines > 0)
                    {
                        Console.WriteLine("  last server output:");
                        Console.WriteLine(server.RecentOutput());
                    }
                }

                // A call costs a fraction of a workflow: its rows keep microseconds (s per 1000 = ms per call).
                var cpuFormat = ScenarioRunner.IsCall(scenario) ? "0.000" : "0.00";
                rows.Add(FormattableString.Invariant(
                    $"| {mode} | {scenario} | {result.Completed}/{result.Requested} | {options.Concurrency} | {result.Throughput:0.0} | {result.Percentile(50):0.0} | {result.Percentile(95):0.0} | {result.Percentile(99):0.0} | {(serverCpu is { } c ? (c.TotalSeconds * per1000).ToString(cpuFormat, CultureInfo.InvariantCulture) : "-")} | {(selfCpu.TotalSeconds * per1000).ToString(cpuFormat, CultureInfo.InvariantCulture)} | {result.Errors} |"));
                cancel.Token.ThrowIfCancellationRequested();
            }
        },
        cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    failed = true;
    Console.Error.WriteLine(server is { HasExited: true }
        ? $"The server exited during the run. Its last output:\n{server.RecentOutput()}"
        : "Run stopped.");
}
#pragma warning disable CA1031 // The driver reports any failure, then still kills the server and deletes the database.
catch (Exception ex)
#pragma warning restore CA1031
{
    failed = true;
    Console.Error.WriteLine($"Load test failed: {ex}");
    if (server is not null)
    {
        Console.Error.WriteLine($"Server's last output:\n{server.RecentOutput()}");
    }
}
finally
{
    server?.Dispose();
    AppDomain.CurrentDomain.ProcessExit -= KillServer;
}

if (rows.Count > 0)
{
    var table = new StringBuilder()
        .AppendLine()
        .AppendLine("| Mode | Scenario | Completed | Concurrency | Workflows/s | p50 ms | p95 ms | p99 ms | Server CPU s/1k wf | Driver CPU s/1k wf | Errors |")
        .AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var row in rows)
    {
        table.AppendLine(row);
    }

    Console.Write(table.ToString());
}

return failed ? 1 : 0;

static void PrintErrors(BatchResult result)
{
    foreach (var (message, count) in result.ErrorCounts.OrderByDescending(p => p.Value).Take(10))
    {
        Console.WriteLine($"  error x{count}: {message}");
    }
}
