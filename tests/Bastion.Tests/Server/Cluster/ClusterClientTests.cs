using Bastion.Server.Cluster;

namespace Bastion.Tests.Server.Cluster;

/// <summary>The channels between nodes.</summary>
public sealed class ClusterClientTests
{
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
