using System.Diagnostics;

namespace Bastion.Tests.Cli;

/// <summary>Runs the real <c>bastion</c> executable to completion: its exit code and output.</summary>
internal static class CliProcess
{
    public static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments) => RunAsync(null, arguments, [], null);

    /// <summary>Runs in <paramref name="directory"/> with extra environment variables; the output is stdout, then stderr.</summary>
    public static async Task<(int ExitCode, string Output)> RunInAsync(string directory, IEnumerable<string> arguments, params (string Name, string Value)[] environment)
    {
        var (exitCode, output, error) = await RunAsync(directory, arguments, environment, null);
        return (exitCode, output + error);
    }

    /// <summary>As <see cref="RunInAsync"/>, with <paramref name="input"/> on standard input (then closed).</summary>
    public static async Task<(int ExitCode, string Output)> RunWithInputAsync(string directory, string input, IEnumerable<string> arguments, params (string Name, string Value)[] environment)
    {
        var (exitCode, output, error) = await RunAsync(directory, arguments, environment, input);
        return (exitCode, output + error);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string? directory, IEnumerable<string> arguments, (string Name, string Value)[] environment, string? input)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "bastion.dll") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input != null,
            UseShellExecute = false,
            WorkingDirectory = directory ?? string.Empty,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start bastion.");
        if (input != null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output, await error);
    }
}
