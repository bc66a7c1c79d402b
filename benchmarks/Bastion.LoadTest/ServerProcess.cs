using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Bastion.LoadTest;

/// <summary>
/// The server under test as a child process (<c>dotnet bastion.dll server start-dev</c>) on a loopback port.
/// Disposing kills the process tree and deletes the temp database directory.
/// </summary>
internal sealed class ServerProcess : IServerUnderTest
{
    private const string ReadyPrefix = "Bastion dev server on ";
    private const int KeptLines = 40;

    private readonly Process _process;
    private readonly string? _dbDirectory;
    private readonly bool _keepDb;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _lines = new();
    private readonly Lock _linesLock = new();
    private int _linesAfterReady;
    private bool _disposed;

    private ServerProcess(Process process, string? dbDirectory, bool keepDb, int port)
    {
        _process = process;
        _dbDirectory = dbDirectory;
        _keepDb = keepDb;
        Port = port;
    }

    public int Port { get; }

    public string Target => $"127.0.0.1:{Port}";

    public string? DatabaseFile => _dbDirectory is null || IsPostgres ? null : Path.Combine(_dbDirectory, "bastion.db");

    /// <summary>The server runs on the PostgreSQL database of <c>BASTION_DATABASE_URL</c>.</summary>
    public bool IsPostgres { get; private init; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Lines the server printed after its ready line (with --log-level warn: warnings and errors).</summary>
    public int LinesAfterReady => Volatile.Read(ref _linesAfterReady);

    /// <summary>Completes when the process exits.</summary>
    public Task Exited { get; private set; } = Task.CompletedTask;

    public static async Task<ServerProcess> StartAsync(string serverDll, StorageMode mode, bool encryption, int? port, bool keepDb, IReadOnlyList<string> extraArgs, TimeSpan readyTimeout)
    {
        var chosenPort = port ?? FreeLoopbackPort();
        string? dbDirectory = null;
        if (mode is StorageMode.File or StorageMode.Postgres)
        {
            dbDirectory = Path.Combine(Path.GetTempPath(), "bastion-loadtest-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dbDirectory);
        }

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(serverDll);
        info.ArgumentList.Add("server");
        info.ArgumentList.Add("start-dev");
        info.ArgumentList.Add("--headless"); // the UI is not measured, and its default port may be taken
        info.ArgumentList.Add("--port");
        info.ArgumentList.Add(chosenPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--ip");
        info.ArgumentList.Add("127.0.0.1");
        if (mode == StorageMode.Postgres)
        {
            // The server reads BASTION_DATABASE_URL from the environment it inherits; PostgreSQL has no default key file.
            info.ArgumentList.Add("--master-key-file");
            info.ArgumentList.Add(Path.Combine(dbDirectory!, "master-key"));
        }
        else
        {
            info.Environment.Remove(LoadTestOptions.PostgresVariable); // a file or memory run must not pick the database up
            if (dbDirectory is not null)
            {
                info.ArgumentList.Add("--db-filename");
                info.ArgumentList.Add(Path.Combine(dbDirectory, "bastion.db"));
            }
        }

        info.ArgumentList.Add("--encryption");
        info.ArgumentList.Add(encryption ? "on" : "off");
        info.ArgumentList.Add("--log-level");
        info.ArgumentList.Add("warn");
        foreach (var argument in extraArgs)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new ServerProcess(process, dbDirectory, keepDb, chosenPort) { IsPostgres = mode == StorageMode.Postgres };
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data, "out");
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data, "err");
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        server.Exited = exited.Task;
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException("dotnet did not start.");
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var first = await Task.WhenAny(server._ready.Task, exited.Task, Task.Delay(readyTimeout));
            if (first != server._ready.Task)
            {
                var why = first == exited.Task ? $"exited with code {process.ExitCode}" : $"printed no ready line within {readyTimeout.TotalSeconds:0}s";
                throw new InvalidOperationException($"The server {why}. Its output:\n{server.RecentOutput()}");
            }

            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    public string Description => $"pid {Id} on {Target}" + (DatabaseFile is { } db ? $", database {db}" : IsPostgres ? $", PostgreSQL ({LoadTestOptions.PostgresVariable})" : ", in memory");

    /// <summary>Total CPU time (user + system) the server process has used so far.</summary>
    public TimeSpan? CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Resident and peak resident memory of the server process, in MiB.</summary>
    public (double Rss, double PeakRss)? MemoryMiB()
    {
        _process.Refresh();
        return (_process.WorkingSet64 / 1048576.0, _process.PeakWorkingSet64 / 1048576.0);
    }

    /// <summary>The last lines the server printed.</summary>
    public string RecentOutput()
    {
        lock (_linesLock)
        {
            return _lines.Count == 0 ? "  (nothing)" : string.Join('\n', _lines.Select(l => "  " + l));
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.Error.WriteLine($"Could not kill server process: {ex.Message}");
        }

        _process.Dispose();
        if (_dbDirectory is not null && !_keepDb)
        {
            try
            {
                Directory.Delete(_dbDirectory, recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"Could not delete {_dbDirectory}: {ex.Message}");
            }
            catch (UnauthorizedAccessException ex)
            {
                Console.Error.WriteLine($"Could not delete {_dbDirectory}: {ex.Message}");
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void OnLine(string? line, string stream)
    {
        if (line is null)
        {
            return;
        }

        lock (_linesLock)
        {
            _lines.Enqueue($"[{stream}] {line}");
            while (_lines.Count > KeptLines)
            {
                _lines.Dequeue();
            }
        }

        if (_ready.Task.IsCompleted)
        {
            if (line.StartsWith("  ", StringComparison.Ordinal) || line.StartsWith("Press Ctrl+C", StringComparison.Ordinal))
            {
                // The rest of the start-up banner.
                return;
            }

            Interlocked.Increment(ref _linesAfterReady);
        }
        else if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
        {
            _ready.TrySetResult(line);
        }
    }
}
