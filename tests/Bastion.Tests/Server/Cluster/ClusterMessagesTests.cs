using Bastion.Engine.Cluster;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Bastion.Server.Cluster;

namespace Bastion.Tests.Server.Cluster;

/// <summary>The internal messages' versions: each written as asked, read back, answered in the request's version.</summary>
public sealed class ClusterMessagesTests
{
    private static readonly QueueKey s_queue = new("ns-id", "orders", TaskCategory.Activity, 2, "build-7");

    public static TheoryData<byte> Versions()
    {
        var versions = new TheoryData<byte>();
        for (var v = ClusterProtocol.Oldest; v <= ClusterProtocol.Newest; v++)
        {
            versions.Add(v);
        }

        return versions;
    }

    [Fact]
    public void ATasksPriority_TravelsFromVersion4_AndAVersion3NodeGetsTheTaskWithout()
    {
        var item = new WorkflowTaskItem(new WorkflowKey("ns-id", "wf", "run"), 3, 1) { Priority = new TaskPriority(1, "tenant", 2.5f) };
        Assert.Equal(item, ClusterMessages.DecodeHandOff(ClusterMessages.Encode(new ClusterMessages.TaskHandOff(s_queue, item, false), 4)).Item);
        Assert.Equal(item with { Priority = default }, ClusterMessages.DecodeOffer(ClusterMessages.EncodeOffer(s_queue, item, TimeSpan.Zero, 3)).Item);
    }

    [Fact]
    public void AnOffersHold_TravelsFromVersion6_AndAnOlderNodeIsOfferedWithout()
    {
        var item = new WorkflowTaskItem(new WorkflowKey("ns-id", "wf", "run"), 3, 1);
        var held = ClusterMessages.DecodeOffer(ClusterMessages.EncodeOffer(s_queue, item, TimeSpan.FromSeconds(2), 6));
        Assert.Equal((s_queue, item, TimeSpan.FromSeconds(2)), held);
        Assert.Equal((s_queue, item, TimeSpan.Zero), ClusterMessages.DecodeOffer(ClusterMessages.EncodeOffer(s_queue, item, TimeSpan.FromSeconds(2), 5)));
    }

    [Fact]
    public void ACallsAuditRecord_TravelsFromVersion5_AndIsNeverWrittenToAnOlderNode()
    {
        var item = new WorkflowTaskItem(new WorkflowKey("ns-id", "wf", "run"), 3, 1);
        byte[] record = [7, 8, 9];
        Assert.Equal(record, ClusterMessages.DecodeForward(ClusterMessages.Encode(new ClusterMessages.Forward("/m", "ns-id", [1], record), 5)).Audit);
        Assert.Equal(record, ClusterMessages.DecodeStart(ClusterMessages.Encode(new ClusterMessages.TaskStart(s_queue, item, [1], record), 5)).Audit);
        Assert.Null(ClusterMessages.DecodeForward(ClusterMessages.Encode(new ClusterMessages.Forward("/m", "ns-id", [1]), 5)).Audit);

        // A version-4 node is sent no record (its sender writes it); asked to carry one anyway, the encoder refuses.
        var old = ClusterMessages.DecodeStart(ClusterMessages.Encode(new ClusterMessages.TaskStart(s_queue, item, [1]), 4));
        Assert.Null(old.Audit);
        Assert.Equal([1], old.PollRequest);
        Assert.Throws<ArgumentException>(() => ClusterMessages.Encode(new ClusterMessages.Forward("/m", "ns-id", [1], record), 4));
    }

    [Fact]
    public void AQueueKey_FormatsAsItsNamesTypePartitionAndVersion()
    {
        // The generated form printed Root, itself a key with a Root: formatting one overflowed the stack.
        Assert.Equal("ns-id/orders (Activity, partition 2, version build-7)", s_queue.ToString());
        Assert.Equal("ns-id/orders (Workflow, partition 0)", new QueueKey("ns-id", "orders", TaskCategory.Workflow).ToString());
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void EveryVersionThisBuildWrites_IsReadBack_AndItsAnswerGoesBackInIt(byte version)
    {
        var item = new ActivityTaskItem(new WorkflowKey("ns-id", "wf", "run"), 5, 2);
        var body = ClusterMessages.Encode(new ClusterMessages.TaskHandOff(s_queue, item, true), version);
        Assert.Equal(version, ClusterMessages.VersionOf(body));
        var read = ClusterMessages.DecodeHandOff(body);
        Assert.Equal(s_queue, read.Queue);
        Assert.Equal(item, read.Item);
        Assert.True(read.Front);

        var answer = ClusterMessages.EncodeStarted([1, 2, 3], ClusterMessages.VersionOf(body));
        Assert.Equal(version, ClusterMessages.VersionOf(answer));
        Assert.Equal([1, 2, 3], ClusterMessages.DecodeStarted(answer));
    }

    [Fact]
    public void AVersionOutsideThisBuildsRange_IsRefusedByName_NeitherWrittenNorRead()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ClusterMessages.EncodeQueue(s_queue, ClusterProtocol.Newest + 1));
        var body = ClusterMessages.EncodeQueue(s_queue, ClusterProtocol.Newest);
        body[0] = ClusterProtocol.Newest + 1; // as a build one release on would write to a node that announced it reads that
        var refused = Assert.Throws<InvalidDataException>(() => ClusterMessages.DecodeQueue(body));
        Assert.Contains($"version {ClusterProtocol.Newest + 1}", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"reads {ClusterProtocol.Oldest} to {ClusterProtocol.Newest}", refused.Message, StringComparison.Ordinal);
    }
}
