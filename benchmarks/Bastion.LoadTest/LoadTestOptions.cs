using System.Globalization;

namespace Bastion.LoadTest;

/// <summary>Storage mode of the server under test.</summary>
internal enum StorageMode
{
    /// <summary>SQLite file in a temp directory (durable).</summary>
    File,

    /// <summary>In-memory store (no <c>--db-filename</c>).</summary>
    Memory,

    /// <summary>
    /// A PostgreSQL database named by <c>BASTION_DATABASE_URL</c>, handed to the server in its environment (so the
    /// password is on no command line); with encryption on, a master key file in a temp directory.
    /// </summary>
    Postgres,
}

/// <summary>Command-line options of the load driver.</summary>
internal sealed class LoadTestOptions
{
    public const string Usage = """
        Usage: bastion-loadtest [options]

          --server PATH         bastion.dll to run (default: src/Bastion.Cli/bin/Release/net10.0/bastion.dll
                                under the repository root; build it first with dotnet build -c Release)
          --mode file|memory|postgres
                                storage of the server: a temp SQLite file, in memory, or the PostgreSQL database
                                BASTION_DATABASE_URL names (an empty one per run; default: file)
          --workflows N         measured workflows per scenario (default: 2000)
          --concurrency C       workflows in flight at once (default: 50)
          --scenario S          activity | noactivity | both (default: both), or timers: workflows that stay open
                                waiting on a one-hour timer (latency: start to the timer started; then the
                                server's memory with all of them open); or single calls, to split a workflow's
                                cost: systeminfo (GetSystemInfo: transport only), describe (DescribeNamespace:
                                the security pipeline and an audit record too), start (StartWorkflowExecution on a
                                task queue no worker polls: the engine and a durable transition too; the runs stay
                                open), calls (the three: start first, its warm-up warming the transport for the others);
                                their rows count calls, not workflows
          --warmup N            unmeasured workflows per scenario before measuring (default: 200)
          --timeout SECONDS     bound on each workflow, start to result (default: 60)
          --max-errors N        stop a scenario after this many failed workflows (default: 50)
          --wft-pollers N       worker workflow-task pollers (default: 8)
          --activity-pollers N  worker activity-task pollers (default: 8)
          --pollers fixed|autoscaling
                                the worker's pollers: the counts above (default), or the SDK's autoscaling pollers
                                (defaults: 1 to 100, 5 at first), which follow the server's poller scaling decisions
          --eager-start         start each workflow with eager start (the SDK's RequestEagerStart): a server that
                                supports it returns the first workflow task in the start's answer to this process's
                                worker; one that does not answers as without it
          --idle SECONDS        first measure CPU with the worker polling and no workflows (default: 0, off)
          --port N              server port (default: a free loopback port)
          --keep-db             do not delete the temp SQLite directory at the end (file mode)
          --server-arg ARG      extra argument for server start-dev, repeatable (e.g. --server-arg --audit-log --server-arg off)
          --encryption on|off   the server's encryption at rest (default: on, as the server's default)
          --target HOST:PORT    drive a server already running there instead of starting one (another Bastion, the
                                naive reference); --server, --mode, --port, --keep-db, --server-arg and --encryption
                                are then refused, as they describe a server the driver starts
          --target-pid PID      with --target: the server's process, for its CPU and memory
          -h, --help            this text
        """;

    /// <summary>The variable naming the PostgreSQL database of <c>--mode postgres</c> (the server reads it too).</summary>
    public const string PostgresVariable = "BASTION_DATABASE_URL";

    public string? ServerDll { get; private set; }

    public StorageMode Mode { get; private set; } = StorageMode.File;

    public int Workflows { get; private set; } = 2000;

    public int Concurrency { get; private set; } = 50;

    public IReadOnlyList<string> Scenarios { get; private set; } = ["activity", "noactivity"];

    public int Warmup { get; private set; } = 200;

    public TimeSpan WorkflowTimeout { get; private set; } = TimeSpan.FromSeconds(60);

    public int MaxErrors { get; private set; } = 50;

    public int WorkflowTaskPollers { get; private set; } = 8;

    public int ActivityTaskPollers { get; private set; } = 8;

    /// <summary>The SDK's autoscaling pollers instead of fixed counts (<c>--pollers autoscaling</c>).</summary>
    public bool AutoscalingPollers { get; private set; }

    /// <summary>Workflows started with eager start (<c>--eager-start</c>).</summary>
    public bool EagerStart { get; private set; }

    public int? Port { get; private set; }

    public int IdleSeconds { get; private set; }

    public bool KeepDb { get; private set; }

    /// <summary>Extra arguments for <c>server start-dev</c>.</summary>
    public IReadOnlyList<string> ServerArgs => _serverArgs;

    /// <summary>The server's encryption at rest (<c>--encryption on|off</c>).</summary>
    public bool Encryption { get; private set; } = true;

    public bool ShowHelp { get; private set; }

    /// <summary>host:port of a server already running (<c>--target</c>), or null to start one.</summary>
    public string? Target { get; private set; }

    public int? TargetPid { get; private set; }

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a readable message.</summary>
    private readonly List<string> _serverArgs = [];

    public static LoadTestOptions Parse(IReadOnlyList<string> args)
    {
        var o = new LoadTestOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"{name} needs a value.");
                }

                return args[++i];
            }

            int Int(int min)
            {
                var text = Value();
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min)
                {
                    throw new ArgumentException($"{name}: expected an integer >= {min}, got '{text}'.");
                }

                return v;
            }

            switch (name)
            {
                case "--server":
                    o.ServerDll = Value();
                    break;
                case "--mode":
                    o.Mode = Value() switch
                    {
                        "file" => StorageMode.File,
                        "memory" => StorageMode.Memory,
                        "postgres" => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 }
                            ? StorageMode.Postgres
                            : throw new ArgumentException($"--mode postgres: set {PostgresVariable} to postgres://USER:PASS@HOST:PORT/DB (an empty database)."),
                        var m => throw new ArgumentException($"--mode: expected file, memory or postgres, got '{m}'."),
                    };
                    break;
                case "--workflows":
                    o.Workflows = Int(1);
                    break;
                case "--concurrency":
                    o.Concurrency = Int(1);
                    break;
                case "--scenario":
                    o.Scenarios = Value() switch
                    {
                        "activity" => ["activity"],
                        "noactivity" => ["noactivity"],
                        "both" => ["activity", "noactivity"],
                        "timers" => ["timers"],
                        var call when ScenarioRunner.IsCall(call) => [call],
                        "calls" => ["start", "describe", "systeminfo"],
                        var s => throw new ArgumentException(
                            $"--scenario: expected activity, noactivity, both, timers, systeminfo, describe, start or calls, got '{s}'."),
                    };
                    break;
                case "--warmup":
                    o.Warmup = Int(0);
                    break;
                case "--timeout":
                    o.WorkflowTimeout = TimeSpan.FromSeconds(Int(1));
                    break;
                case "--max-errors":
                    o.MaxErrors = Int(1);
                    break;
                case "--wft-pollers":
                    o.WorkflowTaskPollers = Int(1);
                    break;
                case "--activity-pollers":
                    o.ActivityTaskPollers = Int(1);
                    break;
                case "--pollers":
                    o.AutoscalingPollers = Value() switch
                    {
                        "fixed" => false,
                        "autoscaling" => true,
                        var p => throw new ArgumentException($"--pollers: expected fixed or autoscaling, got '{p}'."),
                    };
                    break;
                case "--eager-start":
                    o.EagerStart = true;
                    break;
                case "--idle":
                    o.IdleSeconds = Int(0);
                    break;
                case "--port":
                    o.Port = Int(1);
                    break;
                case "--keep-db":
                    o.KeepDb = true;
                    break;
                case "--encryption":
                    o.Encryption = Value() switch
                    {
                        "on" => true,
                        "off" => false,
                        var e => throw new ArgumentException($"--encryption: expected on or off, got '{e}'."),
                    };
                    break;
                case "--server-arg":
                    o._serverArgs.Add(Value());
                    break;
                case "--target":
                    o.Target = Value();
                    break;
                case "--target-pid":
                    o.TargetPid = Int(1);
                    break;
                case "-h" or "--help":
                    o.ShowHelp = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{name}'.");
            }
        }

        var startsServer = new List<string>();
        var given = new HashSet<string>(args.Where(a => a.StartsWith("--", StringComparison.Ordinal)), StringComparer.Ordinal);
        foreach (var option in (string[])["--server", "--mode", "--port", "--keep-db", "--server-arg", "--encryption"])
        {
            if (given.Contains(option))
            {
                startsServer.Add(option);
            }
        }

        if (o.Target is not null && startsServer.Count > 0)
        {
            throw new ArgumentException($"--target drives a server already running: {string.Join(", ", startsServer)} describe one the driver starts.");
        }

        if (o.TargetPid is not null && o.Target is null)
        {
            throw new ArgumentException("--target-pid needs --target.");
        }

        return o;
    }

    /// <summary>The server dll to run: <c>--server</c>, or the Release build under the repository root.</summary>
    public string ResolveServerDll()
    {
        if (ServerDll is { } given)
        {
            var full = Path.GetFullPath(given);
            return File.Exists(full) ? full : throw new FileNotFoundException($"--server: {full} does not exist.");
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Bastion.slnx")))
                {
                    var dll = Path.Combine(dir.FullName, "src", "Bastion.Cli", "bin", "Release", "net10.0", "bastion.dll");
                    if (File.Exists(dll))
                    {
                        return dll;
                    }

                    throw new FileNotFoundException(
                        $"{dll} does not exist: build it with 'dotnet build -c Release src/Bastion.Cli' or pass --server.");
                }
            }
        }

        throw new FileNotFoundException("Could not find the repository root (Bastion.slnx) from the current or program directory: pass --server.");
    }
}
