using System.Globalization;
using System.Net;

namespace Bastion.Server.Cluster;

/// <summary>
/// A clustered server's settings, checked before anything starts: the address other nodes reach it at (and the port
/// its cluster listener binds), its node name, and what clustering needs — a PostgreSQL database every node shares. The
/// internal traffic is plaintext, so the cluster address must be loopback (several nodes on one machine) until the
/// cluster's mutual TLS lands.
/// </summary>
internal sealed record ClusterSettings(string Address, IPEndPoint Bind, string NodeName)
{
    /// <summary>Null for a standalone server; <see cref="ArgumentException"/> (a usage error) naming what is wrong.</summary>
    public static ClusterSettings? Of(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ClusterAddress is not { } address)
        {
            return options.NodeName is null ? null : throw new ArgumentException("--node-name names a node of a cluster: give --cluster-address too.");
        }

        if (options.DatabaseUrl is null)
        {
            throw new ArgumentException("--cluster-address needs --database-url: the nodes of a cluster share one PostgreSQL database.");
        }

        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"--cluster-address {address} is not HOST:PORT with a port from 1 to 65535.");
        }

        var host = address[..colon].Trim('[', ']');
        if (!IPAddress.TryParse(host, out var ip) || !IPAddress.IsLoopback(ip))
        {
            throw new ArgumentException(
                $"--cluster-address {address}: the cluster's internal traffic is plaintext for now, so nodes must reach each other on loopback (127.0.0.1); the cluster's mutual TLS is not built yet.");
        }

        var name = options.NodeName ?? $"{Environment.MachineName}:{port.ToString(CultureInfo.InvariantCulture)}";
        return string.IsNullOrWhiteSpace(name) || name.Length > 200
            ? throw new ArgumentException("--node-name must be 1 to 200 characters.")
            : new ClusterSettings(address, new IPEndPoint(ip, port), name);
    }
}
