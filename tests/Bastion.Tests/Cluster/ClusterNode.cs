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
}
