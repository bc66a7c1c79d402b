using System.Net;
using System.Net.Sockets;

namespace Bastion.Tests.Cluster;

/// <summary>
/// A TCP relay on a loopback port to another address, which the test can cut (every connection closed, new ones
/// refused) and restore on the same port: one node's way to the database, to cut it off from it alone.
/// </summary>
internal sealed class SeverableProxy : IDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _connections = [];
    private TcpListener? _listener;

    public SeverableProxy(IPEndPoint target)
    {
        _target = target;
        Port = Integration.ServerProcess.FreePort(); // it listens on it again after a cut
        Restore();
    }

    public int Port { get; }

    /// <summary>Closes every relayed connection and refuses new ones.</summary>
    public void Cut()
    {
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }
    }

    /// <summary>Accepts and relays connections again, on the same port.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _ = AcceptAsync(listener);
        }
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync();
                var server = new TcpClient();
                try
                {
                    await server.ConnectAsync(_target);
                }
                catch (SocketException)
                {
                    client.Dispose();
                    server.Dispose();
                    continue;
                }

                lock (_lock)
                {
                    if (_listener != listener)
                    {
                        client.Dispose();
                        server.Dispose();
                        return;
                    }

                    _connections.Add(client);
                    _connections.Add(server);
                }

                _ = RelayAsync(client, server);
                _ = RelayAsync(server, client);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Cut: the listener was stopped.
        }
    }

    private static async Task RelayAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream());
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }

        from.Dispose();
        to.Dispose();
    }

    public void Dispose() => Cut();
}
