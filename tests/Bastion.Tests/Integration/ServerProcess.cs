using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Bastion.Tests.Integration;

/// <summary>The real <c>bastion</c> executable in a child process, for tests that kill and restart the server.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Address = $"127.0.0.1:{port}";
    }

    public string Address { get; }

    /// <summary>The process id of the server (the one started: a server command replaces its image in place, <c>ServerJitMode</c>).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The server process's environment as it runs now (Linux: <c>/proc/PID/environ</c>; a name given twice: its last value).</summary>
    public IReadOnlyDictionary<string, string> RunningEnvironment() =>
        System.Text.Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{ProcessId}/environ"))
            .Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => pair[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    /// <summary>What the process printed so far (stdout and stderr).</summary>
    public IReadOnlyCollection<string> Output { get; private init; } = [];

    /// <summary>The banner's last line: once it is out, every line before it is in <see cref="Output"/>.</summary>
    public const string ReadyLine = "Press Ctrl+C to stop.";

    private const int FirstPort = 10_000;
    private const int PortCount = 22_000; // up to 31 999: below Linux's ephemeral range (32 768 on)
    private static int s_nextPort = Random.Shared.Next(PortCount);

    /// <summary>
    /// The one port of the range that browsers refuse to open (Chromium's and Firefox's restricted list: 10080, amanda):
    /// a Web UI served there fails every page in Playwright with <c>ERR_UNSAFE_PORT</c>.
    /// </summary>
    private const int BrowserRefusedPort = 10_080;

    /// <summary>
    /// A loopback port nothing listens on, never handed out before by this process. Not one the system picks
    /// (port 0): those come from the ephemeral range, where any outgoing connection — this process's, another test
    /// run's — may take it before the server binds it, or while a node restarted on its address is down.
    /// </summary>
    public static int FreePort()
    {
        for (var tries = 0; tries < PortCount; tries++)
        {
            var port = FirstPort + (int)((uint)Interlocked.Increment(ref s_nextPort) % PortCount);
            if (port == BrowserRefusedPort)
            {
                continue;
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // in use: the next one
            }
        }

        throw new InvalidOperationException($"No free loopback port in {FirstPort}–{FirstPort + PortCount - 1}.");
    }

    /// <summary>start-dev on a SQLite file; the web UI only when <paramref name="uiPort"/> is given (8233 may be taken on a shared machine).</summary>
    public static Task<ServerProcess> StartAsync(int port, string databaseFile, int? httpPort = null, int? uiPort = null)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        List<string> arguments = ["server", "start-dev", "--port", port.ToString(invariant), "--db-filename", databaseFile, "--log-level", "warn"];
        if (httpPort is { } http)
        {
            arguments.AddRange(["--http-port", http.ToString(invariant)]);
        }

        arguments.AddRange(uiPort is { } ui ? ["--ui-port", ui.ToString(invariant)] : ["--headless"]);

        return StartAsync(port, arguments, ReadyLine);
    }

    /// <summary>
    /// Runs <c>bastion</c> with <paramref name="arguments"/> until it prints a line starting with <paramref name="readyLine"/>:
    /// the build's <c>bastion.dll</c>, or <paramref name="executable"/> (a published single file).
    /// </summary>
    public static async Task<ServerProcess> StartAsync(int port, IEnumerable<string> arguments, string readyLine, string? workingDirectory = null, string? executable = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(executable ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        if (executable is null)
        {
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bastion.dll"));
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start bastion.");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
                if (line.StartsWith(readyLine, StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("bastion exited: " + string.Join("\n", output)));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new ServerProcess(process, port) { Output = output };
    }

    /// <summary>
    /// Waits until the process has printed a line matching <paramref name="match"/>: lines after the ready line arrive
    /// asynchronously, so a check right after the start can miss them.
    /// </summary>
    public async Task<bool> PrintedAsync(Func<string, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        for (var i = 0; i < 300 && !Output.Any(match); i++)
        {
            await Task.Delay(100);
        }

        return Output.Any(match);
    }

    /// <summary>The exit code, once the process has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>SIGTERM, as systemd or a container runtime stops a service; true when the process exited within <paramref name="within"/>.</summary>
    public async Task<bool> TerminateAsync(TimeSpan within)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or power loss.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Kills the process if it still runs; a second call does nothing (a test may stop a node before its end).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
