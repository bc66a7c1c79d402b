using System.Net;
using Bastion.Server.Cluster;
using Bastion.Storage;

namespace Bastion.Tests.Server.Cluster;

/// <summary>The channels between nodes.</summary>
public sealed class NodeChannelsTests
{
    private static readonly ClusterSettings s_settings = new("127.0.0.1:7611", new IPEndPoint(IPAddress.Loopback, 7611), "n1", null);

    /// <summary>
    /// A node killed and started again at the same address was unreachable from the others for up to the channel's
    /// reconnect pause (gRPC's default grows to two minutes while the node is down), though membership already sent
    /// its shards back to it: calls failed UNAVAILABLE for 15–40 s after a restart (benchmarks/failover.sh). The pause
    /// between connection attempts stays short.
    /// </summary>
    [Fact]
    public void AChannelToANode_TriesToReconnectWithinASecond()
    {
        var options = NodeChannels.Options(s_settings);

        Assert.NotNull(options.MaxReconnectBackoff);
        Assert.True(options.MaxReconnectBackoff <= TimeSpan.FromSeconds(1), $"{options.MaxReconnectBackoff}");
        Assert.True(options.InitialReconnectBackoff <= options.MaxReconnectBackoff);
        Assert.Null(options.MaxReceiveMessageSize); // a forwarded call's answer is as large as the client's limit allows
    }

    /// <summary>
    /// A channel keeps trying to connect for as long as it exists, so the channel of an address no live node has had
    /// for two minutes of refreshes is closed (a node gone for good, or back at another address); an address live
    /// again in between starts its count over, and a live node's channel stays.
    /// </summary>
    [Fact]
    public void AChannelToAnAddressLongGoneFromTheLiveSet_IsClosed()
    {
        using var channels = new NodeChannels(s_settings);
        var a = new ClusterNode("a", "127.0.0.1:7612", DateTime.UnixEpoch);
        var b = new ClusterNode("b", "127.0.0.1:7613", DateTime.UnixEpoch);
        channels.Invoker(a.Address);
        channels.Invoker(b.Address);

        for (var i = 1; i < NodeChannels.AbsentRefreshesBeforeClose; i++)
        {
            channels.Forget([a]);
        }

        channels.Forget([a, b]); // b back just before its channel would have closed
        for (var i = 1; i < NodeChannels.AbsentRefreshesBeforeClose; i++)
        {
            channels.Forget([a]);
        }

        Assert.Equal([a.Address, b.Address], channels.Addresses.Order(StringComparer.Ordinal));
        channels.Forget([a]);
        Assert.Equal([a.Address], channels.Addresses);

        channels.Invoker(b.Address); // live again later: a new channel
        Assert.Equal(2, channels.Addresses.Count);
    }
}
