using System.Diagnostics;

namespace Bastion.Tests.Cli;

/// <summary>Runs the real <c>bastion</c> executable to completion and returns its exit code and output (stdout, then stderr).</summary>
internal static class CliProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string directory, IEnumerable<string> arguments, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = directory };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bastion.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout + await stderr);
    }
}
