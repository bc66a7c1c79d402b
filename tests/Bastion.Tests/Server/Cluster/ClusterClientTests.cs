using System.Net;
using Bastion.Server.Cluster;

namespace Bastion.Tests.Server.Cluster;

/// <summary>The channels between nodes.</summary>
public sealed class ClusterClientTests
{
    /// <summary>
    /// A node killed and started again at the same address was unreachable from the others for up to the channel's
    /// reconnect pause (gRPC's default grows to two minutes while the node is down), though membership already sent
    /// its shards back to it: calls failed UNAVAILABLE for 15–40 s after a restart (benchmarks/failover.sh). The pause
    /// between connection attempts stays short.
    /// </summary>
    [Fact]
    public void AChannelToANode_TriesToReconnectWithinASecond()
    {
        var options = ClusterClient.ChannelOptions(new ClusterSettings("127.0.0.1:7611", new IPEndPoint(IPAddress.Loopback, 7611), "n1", null));

        Assert.NotNull(options.MaxReconnectBackoff);
        Assert.True(options.MaxReconnectBackoff <= TimeSpan.FromSeconds(1), $"{options.MaxReconnectBackoff}");
        Assert.True(options.InitialReconnectBackoff <= options.MaxReconnectBackoff);
        Assert.Null(options.MaxReceiveMessageSize); // a forwarded call's answer is as large as the client's limit allows
    }

    /// <summary>
    /// What a node's answer says of the audit record its call carried: written, not written, or — from a node of
    /// protocol 7, which always says — nothing, when the answer did not come from the node that ran the call (the
    /// record is then in doubt). A node before 7 says only "written".
    /// </summary>
    [Fact]
    public void AnAnswerWithoutAWordOnTheRecord_LeavesItInDoubt_FromANodeThatAlwaysSays()
    {
        static Grpc.Core.Metadata Trailers(string? key) => key is null ? [] : new() { { key, "1" } };

        Assert.True(ClusterClient.AuditAnswer(Trailers(ClusterMethods.AuditWrittenTrailer), 7));
        Assert.False(ClusterClient.AuditAnswer(Trailers(ClusterMethods.AuditNotWrittenTrailer), 7));
        Assert.Null(ClusterClient.AuditAnswer(Trailers(null), 7));
        Assert.True(ClusterClient.AuditAnswer(Trailers(ClusterMethods.AuditWrittenTrailer), 6));
        Assert.False(ClusterClient.AuditAnswer(Trailers(null), 6));
    }
}
