using System.Diagnostics;

namespace Bastion.Tests.Cli;

/// <summary>The real <c>bastion</c> executable refuses bad start-dev arguments with a message and an exit code.</summary>
public sealed class StartDevCommandTests
{
    [Theory]
    [InlineData("--ip 0.0.0.0", 2, "loopback only")]
    [InlineData("--ip not-an-ip", 2, "is not an IP address")]
    [InlineData("--dynamic-config-value limit.historyCount.error=lots", 2, "limit.historyCount.error")]
    [InlineData("--dynamic-config-value novalue", 2, "expected KEY=VALUE")]
    [InlineData("--log-level loud", 1, "loud")]
    public async Task BadArguments_ExitNonZero_SayingWhy(string arguments, int exitCode, string message)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bastion.dll"));
        foreach (var part in $"server start-dev --port 0 {arguments}".Split(' '))
        {
            start.ArgumentList.Add(part);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(exitCode, process.ExitCode);
        Assert.Contains(message, await stderr + await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpPort_ServesTheHttpApi_OnLoopback()
    {
        var directory = Directory.CreateTempSubdirectory("bastion-cli-http-");
        try
        {
            var httpPort = Integration.ServerProcess.FreePort();
            using var server = await Integration.ServerProcess.StartAsync(Integration.ServerProcess.FreePort(), Path.Combine(directory.FullName, "b.db"), httpPort);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            var info = await http.GetStringAsync("/api/v1/namespaces/default");
            Assert.Contains("\"name\":\"default\"", info, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
