using System.Diagnostics;
using System.Text.Json;

namespace Bastion.Tests.Integration;

/// <summary>
/// The official TypeScript SDK (client + worker 1.24.0, tests/ts-sdk) runs a workflow with an activity, a signal
/// and a query against Bastion. Its npm packages are installed on first use (npm ci from the committed lock file).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class TypeScriptSdkTests(ServerFixture fixture)
{
    [Fact]
    public async Task TypeScriptSdk_RunsAnActivityASignalAndAQuery()
    {
        var dir = Path.Combine(TestPaths.RepositoryRoot(), "tests", "ts-sdk");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "@temporalio", "worker")))
        {
            var (installed, log) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], dir, TimeSpan.FromMinutes(5));
            Assert.True(installed, "npm ci failed in tests/ts-sdk:\n" + log);
        }

        var (ok, output) = await RunAsync("node", ["run.mjs", fixture.Server.Address], dir, TimeSpan.FromMinutes(2));
        Assert.True(ok, "the TypeScript SDK run failed:\n" + output);
        var line = output.Split('\n').Last(l => l.StartsWith("{\"result\"", StringComparison.Ordinal));
        using var result = JsonDocument.Parse(line);
        Assert.Equal("Hello, TypeScript! Bye.", result.RootElement.GetProperty("result").GetString());
        Assert.Equal("Hello, TypeScript!", result.RootElement.GetProperty("queried").GetString());
        Assert.Equal("COMPLETED", result.RootElement.GetProperty("status").GetString());
    }

    private static async Task<(bool Ok, string Output)> RunAsync(string file, string[] arguments, string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (false, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }

        var output = await stdout;
        var errors = await stderr;
        return (process.ExitCode == 0, output + "\n" + (errors.Length > 4000 ? errors[^4000..] : errors));
    }
}
