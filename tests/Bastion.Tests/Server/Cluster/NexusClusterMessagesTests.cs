using Bastion.Engine.Cluster;
using Bastion.Engine.Matching;
using Bastion.Server.Cluster;
using Google.Protobuf;
using Temporalio.Api.Nexus.V1;

namespace Bastion.Tests.Server.Cluster;

/// <summary>The cluster messages Nexus adds read back what was written, and a malformed one is refused as invalid data.</summary>
public sealed class NexusClusterMessagesTests
{
    [Fact]
    public void ANexusDispatch_AndItsAnswers_RoundTrip()
    {
        var request = new Request { Endpoint = "ep", StartOperation = new StartOperationRequest { Service = "svc", Operation = "op", RequestId = "r" } };
        var dispatch = ClusterMessages.DecodeNexusDispatch(ClusterMessages.Encode(new ClusterMessages.NexusDispatch("ns", "tq", request.ToByteArray(), TimeSpan.FromSeconds(10)), ClusterProtocol.Newest));
        Assert.Equal(("ns", "tq", TimeSpan.FromSeconds(10)), (dispatch.NamespaceId, dispatch.TaskQueue, dispatch.Timeout));
        Assert.Equal(request, Request.Parser.ParseFrom(dispatch.Request));

        Assert.Null(ClusterMessages.DecodeNexusAnswer(ClusterMessages.EncodeNexusAnswer(null, ClusterProtocol.Newest)));
        var response = new Response { StartOperation = new StartOperationResponse { SyncSuccess = new() } };
        Assert.Equal(response, ClusterMessages.DecodeNexusAnswer(ClusterMessages.EncodeNexusAnswer(new NexusTaskAnswer(response, null), ClusterProtocol.Newest))!.Response);
        var failed = ClusterMessages.DecodeNexusAnswer(ClusterMessages.EncodeNexusAnswer(NexusTaskAnswer.PollerGone, ClusterProtocol.Newest))!;
        Assert.Equal((null, NexusTaskAnswer.PollerGone.HandlerFailure), (failed.Response, failed.HandlerFailure));

        Assert.Throws<InvalidDataException>(() => ClusterMessages.DecodeNexusDispatch(ClusterMessages.Encode(new ClusterMessages.NexusDispatch("ns", "tq", [], TimeSpan.Zero), ClusterProtocol.Newest)));
    }

    [Fact]
    public void ACompletionForTheCallersNode_RoundTrips()
    {
        var completion = new CrossRunOperation.CompleteNexusOperation("token", "operation-token", [[1, 2], []], [3], null, Canceled: true);
        var decoded = Assert.IsType<CrossRunOperation.CompleteNexusOperation>(CrossRunOperation.Decode(completion.Encode()));
        Assert.Equal((completion.CallbackToken, completion.OperationToken, completion.Canceled), (decoded.CallbackToken, decoded.OperationToken, decoded.Canceled));
        Assert.Equal(completion.StartedLinks, decoded.StartedLinks);
        Assert.Equal(completion.Result, decoded.Result);
        Assert.Null(decoded.Failure);
        Assert.Throws<InvalidDataException>(() => CrossRunOperation.Decode(completion.Encode()[..^3]));
    }
}
