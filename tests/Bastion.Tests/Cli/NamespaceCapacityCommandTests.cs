namespace Bastion.Tests.Cli;

/// <summary>The real <c>bastion namespace update --capacity</c> on a database file: set, shown, refused when malformed, cleared.</summary>
public sealed class NamespaceCapacityCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-cli-capacity-").FullName;

    [Fact]
    public async Task Capacity_IsProvisionedInUnits_ShownByDescribe_AndOnDemandClearsIt()
    {
        Assert.Equal(0, (await RunAsync("certs", "ca", "create")).ExitCode);
        var created = await RunAsync("namespace", "create", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--ca-certificate-file", "ca.pem");
        Assert.True(created.ExitCode == 0, created.Output);
        Assert.Contains("Capacity:   on-demand", created.Output, StringComparison.Ordinal);

        var provisioned = await RunAsync("namespace", "update", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--capacity", "2.5");
        Assert.True(provisioned.ExitCode == 0, provisioned.Output);
        var described = await RunAsync("namespace", "describe", "-f", "bastion.db", "--account", "acme", "-n", "payments");
        Assert.Contains("Capacity:   provisioned, 2.5 units (250 actions and 1250 requests per second)", described.Output, StringComparison.Ordinal);
        Assert.Contains("CN=", described.Output, StringComparison.Ordinal); // the TLS policy is untouched

        var malformed = await RunAsync("namespace", "update", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--capacity", "lots");
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("--capacity lots: expected on-demand or a number of units from 0.1 to 10000", malformed.Output, StringComparison.Ordinal);
        var tooSmall = await RunAsync("namespace", "update", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--capacity", "0");
        Assert.Equal(2, tooSmall.ExitCode);

        var onDemand = await RunAsync("namespace", "update", "-f", "bastion.db", "--account", "acme", "-n", "payments", "--capacity", "on-demand");
        Assert.True(onDemand.ExitCode == 0, onDemand.Output);
        Assert.Contains("Capacity:   on-demand", onDemand.Output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => CliProcess.RunInAsync(_directory, arguments, []);
}
