using Bastion.Server;
using Bastion.Storage.Postgres;
using Bastion.Tests.Integration;
using Microsoft.Extensions.Logging;

namespace Bastion.Tests.Cluster;

/// <summary>The options of an in-process cluster node the cluster tests start: its own cluster port, the shared database and master key.</summary>
internal static class ClusterNode
{
    public static ServerOptions Options(DatabaseUrl url, string name, string directory, int shards, LogLevel logLevel = LogLevel.Warning) => new()
    {
        Port = 0,
        DatabaseUrl = url,
        ShardCount = shards,
        ClusterAddress = $"127.0.0.1:{ServerProcess.FreePort()}",
        NodeName = name,
        MasterKeyFile = Path.Combine(directory, "master-key"),
        LogLevel = logLevel,
    };

    /// <summary>The arguments of a <c>bastion server start-dev</c> node process of a plaintext loopback cluster on the test database.</summary>
    public static string[] ProcessArguments(DatabaseUrl url, string directory, string name, int port, int clusterPort) =>
    [
        "server", "start-dev", "--headless", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-level", "warn",
        "--database-url", Storage.Postgres.PostgresDatabase.UrlText(url.Database), "--master-key-file", Path.Combine(directory, "master-key"), "--shards", "8",
        "--cluster-address", $"127.0.0.1:{clusterPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}", "--node-name", name,
    ];

    /// <summary>
    /// Runs a test of node processes with a directory of its own (master key, certificates) and the list it adds the
    /// processes it starts to: when it fails, the last lines of each one's log (warnings and errors: the nodes run at
    /// --log-level warn) go to <paramref name="output"/>; after, every one is stopped and the directory removed.
    /// </summary>
    public static async Task WithProcessesAsync(string prefix, Xunit.Abstractions.ITestOutputHelper? output, Func<string, List<ServerProcess>, Task> test)
    {
        const int linesOnFailure = 80;
        var directory = Directory.CreateTempSubdirectory(prefix).FullName;
        var processes = new List<ServerProcess>();
        try
        {
            await test(directory, processes);
        }
        catch when (output is not null)
        {
            var n = 0;
            foreach (var process in processes)
            {
                output.WriteLine($"--- node process {++n} (port {process.Address}), its last {linesOnFailure} lines:");
                foreach (var line in process.Output.TakeLast(linesOnFailure))
                {
                    output.WriteLine(line);
                }
            }

            throw;
        }
        finally
        {
            foreach (var process in processes)
            {
                process.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }
    }
}
