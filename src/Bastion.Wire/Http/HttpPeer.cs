using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace Bastion.Wire.Http;

/// <summary>The peer of an HTTP request in Grpc.AspNetCore's format, so audit records read the same for every transport.</summary>
public static class HttpPeer
{
    public static string Of(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Connection.RemoteIpAddress switch
        {
            null => "unknown",
            { AddressFamily: AddressFamily.InterNetworkV6 } ip => $"ipv6:[{ip}]:{http.Connection.RemotePort}",
            var ip => $"ipv4:{ip}:{http.Connection.RemotePort}",
        };
    }
}
