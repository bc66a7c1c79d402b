using System.Globalization;
using System.Net;

namespace Bastion.Server.Cluster;

/// <summary>
/// A clustered server's settings, checked before anything starts: the address other nodes reach it at (and the port
/// its cluster listener binds), its node name, and what clustering needs — a PostgreSQL database every node shares. The
/// internal traffic is mutual TLS 1.3 with the cluster CA (<see cref="ClusterTls"/>) when the node's certificate, key and
/// the CA are given; without them it is plaintext, and the cluster address must then be loopback (several nodes on one
/// machine).
/// </summary>
internal sealed record ClusterSettings(string Address, IPEndPoint Bind, string NodeName, ClusterTls? Tls)
{
    /// <summary>Null for a standalone server; <see cref="ArgumentException"/> (a usage error) naming what is wrong.</summary>
    public static ClusterSettings? Of(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tlsFiles = new[] { options.ClusterCertFile, options.ClusterKeyFile, options.ClusterCaFile };
        if (options.ClusterAddress is not { } address)
        {
            return options.NodeName is null && tlsFiles.All(f => f is null)
                ? null
                : throw new ArgumentException("--node-name and --cluster-cert-file, --cluster-key-file, --cluster-ca-file are about a node of a cluster: give --cluster-address too.");
        }

        if (tlsFiles.Any(f => f is null) && tlsFiles.Any(f => f is not null))
        {
            throw new ArgumentException("--cluster-cert-file, --cluster-key-file and --cluster-ca-file go together: give all three (the cluster's mutual TLS) or none (loopback only).");
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
        if (!IPAddress.TryParse(host, out var ip))
        {
            throw new ArgumentException($"--cluster-address {address}: the host must be an IP address (the one other nodes reach this node at; the cluster listener binds it).");
        }

        var withTls = options.ClusterCertFile is not null;
        if (!withTls && !IPAddress.IsLoopback(ip))
        {
            throw new ArgumentException(
                $"--cluster-address {address}: without the cluster's mutual TLS (--cluster-cert-file, --cluster-key-file, --cluster-ca-file) nodes reach each other on loopback only.");
        }

        var name = options.NodeName ?? $"{Environment.MachineName}:{port.ToString(CultureInfo.InvariantCulture)}";
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            throw new ArgumentException("--node-name must be 1 to 200 characters.");
        }

        return new ClusterSettings(address, new IPEndPoint(ip, port), name,
            withTls ? ClusterTls.Load(options.ClusterCertFile!, options.ClusterKeyFile!, options.ClusterCaFile!) : null);
    }
}
