using System.Collections.Concurrent;
using Bastion.Storage;
using Grpc.Core;
using Grpc.Net.Client;

namespace Bastion.Server.Cluster;

/// <summary>
/// One HTTP/2 channel per node address (mutual TLS with the cluster CA when configured), made on first use. A channel
/// keeps trying to connect to its address for as long as it exists (every second at most, <see cref="Options"/>), so
/// one whose address no live node has had for <see cref="AbsentRefreshesBeforeClose"/> membership refreshes is closed:
/// a node that left for good, or came back at another address (as a container does), would otherwise leave its
/// connection attempts going for the process's life.
/// </summary>
internal sealed class NodeChannels(ClusterSettings settings) : IDisposable
{
    /// <summary>Two minutes at one refresh every 2 s: longer than any call sent to that address may still be running.</summary>
    internal const int AbsentRefreshesBeforeClose = 60;

    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _absent = new(StringComparer.Ordinal); // only on the refresh loop

    /// <summary>The addresses channels are open to.</summary>
    public ICollection<string> Addresses => _channels.Keys;

    public CallInvoker Invoker(string address) =>
        _channels.GetOrAdd(address, a => GrpcChannel.ForAddress((settings.Tls is null ? "http://" : "https://") + a, Options(settings))).CreateCallInvoker();

    /// <summary>
    /// After each membership refresh, with its live set. Calls reach a node only while it is live (<c>Reach</c> reads the
    /// same live set), so a channel missing from it that long carries nothing.
    /// </summary>
    public void Forget(IReadOnlyList<ClusterNode> live)
    {
        var addresses = live.Select(n => n.Address).ToHashSet(StringComparer.Ordinal);
        foreach (var address in _channels.Keys)
        {
            if (addresses.Contains(address))
            {
                _absent.Remove(address);
                continue;
            }

            var absent = _absent[address] = _absent.GetValueOrDefault(address) + 1;
            if (absent >= AbsentRefreshesBeforeClose && _channels.TryRemove(address, out var channel))
            {
                _absent.Remove(address);
                channel.Dispose();
            }
        }
    }

    /// <summary>
    /// A channel to one node. Its reconnect backoff is short: a channel whose node died keeps trying to connect with a
    /// growing pause (by default up to two minutes), failing every call at once meanwhile — so a node that died and
    /// came back at the same address would stay unreachable from the others for up to that pause, while membership
    /// already routes its shards and queues to it. A refused connection to a node costs nothing; membership says which
    /// nodes are live.
    /// </summary>
    internal static GrpcChannelOptions Options(ClusterSettings settings) => new()
    {
        MaxReceiveMessageSize = null,
        MaxSendMessageSize = null,
        InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
        MaxReconnectBackoff = TimeSpan.FromSeconds(1),
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            SslOptions = settings.Tls?.ClientOptions() ?? new(),
        },
    };

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }
}
