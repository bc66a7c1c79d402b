using System.Collections;
using System.Runtime.InteropServices;
using System.Text;

namespace Bastion.Cli;

/// <summary>
/// A server runs the framework's code as the JIT compiles it in this process — tiered, with dynamic PGO — instead of
/// the precompiled ReadyToRun code the framework ships: at steady state that cost 13–20 % less CPU per workflow
/// (docs/benchmarks.md, "The framework's precompiled code"). The runtime reads the choice only from its environment
/// (<c>DOTNET_ReadyToRun</c>) as it starts, so a server command started without the variable replaces its own process
/// image (<c>execve</c>: the same process id, standard streams and signals) with the same command and the variable
/// set to 0. Linux only; a variable already set (either prefix), to anything, is left alone (<c>DOTNET_ReadyToRun=1</c> keeps the
/// precompiled code). Other commands are short-lived: for them the precompiled code starts faster.
/// </summary>
internal static partial class ServerJitMode
{
    public const string Variable = "DOTNET_ReadyToRun";

    /// <summary>The same setting under the runtime's older prefix, which it still reads.</summary>
    public const string LegacyVariable = "COMPlus_ReadyToRun";

    /// <summary>Returns only when nothing is to be done or the process could not be replaced (it then runs as it is).</summary>
    public static void Apply(string[] args)
    {
        if (!OperatingSystem.IsLinux() || !IsServerCommand(args)
            || Environment.GetEnvironmentVariable(Variable) is not null || Environment.GetEnvironmentVariable(LegacyVariable) is not null)
        {
            return;
        }

        string?[] argv;
        try
        {
            // The command line as the process was started (the host, its options and the app's arguments), not only the app's.
            // Each word ends with a NUL; only the last terminator is dropped, so an empty last argument stays.
            var text = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline"));
            argv = [.. (text.EndsWith('\0') ? text[..^1] : text).Split('\0'), null];
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        var environment = new List<string?>();
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{entry.Key}={entry.Value}");
        }

        environment.Add(Variable + "=0");
        environment.Add(null);
        RemoveDiagnosticsEndpoint();
        if (Execve("/proc/self/exe", argv, [.. environment]) == -1)
        {
            // Still this image: it runs on, with the precompiled code and without its diagnostics endpoint (removed above).
            Console.Error.WriteLine(
                $"Could not restart with {Variable}=0 (execve: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}); running with the framework's precompiled code, without dotnet-counters/dotnet-trace access. Set {Variable} to skip the restart.");
        }
    }

    /// <summary>
    /// The runtime's diagnostics endpoint (what <c>dotnet-counters</c> and <c>dotnet-trace</c> connect to) is a socket
    /// named by the process id and start time, both kept by <c>execve</c>: the file this image made is removed, or the
    /// next image could not listen on its name and the server would have no diagnostics.
    /// </summary>
    private static void RemoveDiagnosticsEndpoint()
    {
        try
        {
            foreach (var socket in DiagnosticsSockets(Environment.ProcessId))
            {
                File.Delete(socket);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The runtime's diagnostics sockets of a process: <c>dotnet-diagnostic-PID-STARTTIME-socket</c> in <c>$TMPDIR</c> (else <c>/tmp</c>).</summary>
    internal static IEnumerable<string> DiagnosticsSockets(int processId) =>
        Directory.EnumerateFiles(
            Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp",
            $"dotnet-diagnostic-{processId}-*-socket");

    /// <summary><c>server start</c> or <c>server start-dev</c>, as typed (the parser has not run yet).</summary>
    internal static bool IsServerCommand(string[] args) =>
        args is ["server", "start" or "start-dev", ..];

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execve(string path, string?[] argv, string?[] envp);
}
