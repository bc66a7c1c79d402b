using System.Diagnostics;
using System.Globalization;
using Bastion.Cli;
using Bastion.Tests.Integration;
using Temporalio.Client;

namespace Bastion.Tests.Cli;

/// <summary>
/// The install story: <c>deploy/publish.sh</c> makes one self-contained file that runs without the .NET SDK
/// (<c>bastion --version</c>, <c>server start-dev</c>, a workflow start through the SDK), and the sample configuration
/// in <c>deploy/</c> holds only settings <c>server start</c> knows.
/// </summary>
public sealed class PublishTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("bastion-publish-");

    public void Dispose() => _directory.Delete(recursive: true);

    /// <summary>Runs only when <c>BASTION_PUBLISH_TEST</c> is set: a self-contained publish takes minutes.</summary>
    private sealed class PublishFactAttribute : FactAttribute
    {
        public PublishFactAttribute()
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("BASTION_PUBLISH_TEST")))
            {
                Skip = "Publishes a self-contained single file (minutes): set BASTION_PUBLISH_TEST=1 to run it.";
            }
        }
    }

    [PublishFact]
    public async Task TheSingleFile_RunsVersion_AndStartDev_ServingTheSdk()
    {
        var output = Path.Combine(_directory.FullName, "out");
        var script = Path.Combine(TestPaths.RepositoryRoot(), "deploy", "publish.sh");
        using (var publish = Process.Start(new ProcessStartInfo(script) { ArgumentList = { "linux-x64", output }, RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            var log = publish.StandardOutput.ReadToEndAsync();
            var errors = publish.StandardError.ReadToEndAsync();
            await publish.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(30));
            Assert.True(publish.ExitCode == 0, await log + await errors);
        }

        var bastion = Path.Combine(output, "bastion");
        Assert.Equal(["bastion"], Directory.GetFiles(output).Select(Path.GetFileName)); // one file
        using (var version = Process.Start(new ProcessStartInfo(bastion, "--version") { RedirectStandardOutput = true })!)
        {
            var text = await version.StandardOutput.ReadToEndAsync();
            await version.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.StartsWith("bastion 0.1.0 (commit ", text, StringComparison.Ordinal);
        }

        var port = ServerProcess.FreePort();
        using var server = await ServerProcess.StartAsync(
            port, ["server", "start-dev", "--port", port.ToString(CultureInfo.InvariantCulture), "--headless"], ServerProcess.ReadyLine, _directory.FullName, executable: bastion);
        Assert.Equal("0", server.RunningEnvironment().GetValueOrDefault(ServerJitMode.Variable)); // the single file replaced its image too
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var handle = await client.StartWorkflowAsync("Anything", [], new("published-" + Guid.NewGuid(), "tq"));
        Assert.NotNull((await handle.DescribeAsync()).RunId);
    }

    [Fact]
    public async Task TheSampleConfiguration_HasOnlyKnownSettings()
    {
        var config = Path.Combine(TestPaths.RepositoryRoot(), "deploy", "bastion.json");
        string[] here = ["--db-filename", Path.Combine(_directory.FullName, "b.db"), "--audit-export", "file:" + Path.Combine(_directory.FullName, "audit.jsonl"),
            "--master-key-file", Path.Combine(_directory.FullName, "master-key")]; // options win over the file: nothing written outside the test's directory
        var (exitCode, text) = await CliProcess.RunInAsync(_directory.FullName, ["server", "start", "--config", config, .. here]);

        // The certificate it names is not on this machine, so the start stops there — after every key was read.
        Assert.Equal(BastionCommand.UsageError, exitCode);
        Assert.DoesNotContain("unknown setting", text, StringComparison.Ordinal);
        Assert.Contains("/etc/bastion/tls/server.pem", text, StringComparison.Ordinal);
    }
}
