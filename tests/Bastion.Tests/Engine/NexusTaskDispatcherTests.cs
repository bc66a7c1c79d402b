using Bastion.Engine.Matching;
using Temporalio.Api.Nexus.V1;

namespace Bastion.Tests.Engine;

/// <summary>Nexus tasks are matched synchronously: a waiting poller gets the request, a withdrawn request is never seen, and only the target namespace may answer.</summary>
public sealed class NexusTaskDispatcherTests
{
    private static Request Start(string id) => new() { StartOperation = new StartOperationRequest { Service = "svc", Operation = "op", RequestId = id } };

    [Fact]
    public async Task AWaitingPoller_GetsTheRequest_AndItsAnswerReachesTheCaller()
    {
        var dispatcher = new NexusTaskDispatcher();
        var poll = dispatcher.PollAsync("ns-b", "tq", TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(dispatcher.PollersOf("ns-b", "tq") == 1)));

        var dispatch = dispatcher.DispatchAsync("ns-b", "tq", Start("r-1"), TimeSpan.FromSeconds(30), CancellationToken.None);
        var (token, request) = (await poll)!.Value;
        Assert.Equal("r-1", request.StartOperation.RequestId);

        var response = new Response { StartOperation = new StartOperationResponse { SyncSuccess = new() } };
        Assert.False(dispatcher.Answer("ns-a", token, new NexusTaskAnswer(response, null))); // another namespace's token use is refused
        Assert.True(dispatcher.Answer("ns-b", token, new NexusTaskAnswer(response, null)));
        Assert.Same(response, (await dispatch)!.Response);
        Assert.False(dispatcher.Answer("ns-b", token, new NexusTaskAnswer(response, null))); // answered once
    }

    [Fact]
    public async Task ARequestNoWorkerTookInTime_IsWithdrawn_AndALatePollerNeverSeesIt()
    {
        var time = new ManualTime(DateTimeOffset.UnixEpoch);
        var dispatcher = new NexusTaskDispatcher(time);
        var dispatch = dispatcher.DispatchAsync("ns-b", "tq", Start("r-late"), TimeSpan.FromHours(1), CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.False(dispatch.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1)); // the request's timeout is on the dispatcher's clock: it ends now, not in an hour
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(dispatch.IsCompleted)));
        Assert.Null(await dispatch);

        var late = dispatcher.PollAsync("ns-b", "tq", TimeSpan.FromHours(1), CancellationToken.None);
        time.Advance(TimeSpan.FromHours(1));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(late.IsCompleted)));
        Assert.Null(await late);
    }

    [Fact]
    public async Task AQueuedRequest_GoesToTheNextPollerOfItsQueue_NotToAnotherNamespacesQueue()
    {
        var dispatcher = new NexusTaskDispatcher();
        var dispatch = dispatcher.DispatchAsync("ns-b", "tq", Start("r-2"), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Null(await dispatcher.PollAsync("ns-a", "tq", TimeSpan.FromMilliseconds(20), CancellationToken.None));
        var (token, request) = (await dispatcher.PollAsync("ns-b", "tq", TimeSpan.FromSeconds(30), CancellationToken.None))!.Value;
        Assert.Equal("r-2", request.StartOperation.RequestId);
        Assert.True(dispatcher.Answer("ns-b", token, new NexusTaskAnswer(null, new Temporalio.Api.Failure.V1.Failure { Message = "no" })));
        Assert.Equal("no", (await dispatch)!.HandlerFailure!.Message);
    }

    /// <summary>In a cluster a token names the node holding its task, so an answer through any node is routed to it.</summary>
    [Fact]
    public async Task ATasksToken_NamesTheNodeThatHoldsIt()
    {
        var membership = Bastion.Engine.Cluster.ClusterMembership.Standalone("node-x", TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var dispatcher = new NexusTaskDispatcher { Routing = Bastion.Engine.Cluster.ClusterRouting.Standalone(membership) };
        var dispatch = dispatcher.DispatchAsync("ns-b", "tq", Start("r-3"), TimeSpan.FromSeconds(30), CancellationToken.None);
        var (token, _) = (await dispatcher.PollAsync("ns-b", "tq", TimeSpan.FromSeconds(30), CancellationToken.None))!.Value;

        Assert.Equal("node-x", NexusTaskDispatcher.NodeOfToken(token));
        Assert.False(dispatcher.Answer("ns-a", token, new NexusTaskAnswer(new Response(), null)));
        Assert.True(dispatcher.Answer("ns-b", token, new NexusTaskAnswer(new Response(), null)));
        Assert.NotNull(await dispatch);
        Assert.Null(NexusTaskDispatcher.NodeOfToken("0123456789abcdef")); // not one of this server's cluster tokens
        Assert.Null(NexusTaskDispatcher.NodeOfToken("0123456789abcdef@"));
    }

    [Fact]
    public async Task PollsGetPollerScalingDecisions_MoreForRequestsArrivingFasterThanTaken_FewerAfterALongWait()
    {
        var time = new ManualTime(DateTimeOffset.UnixEpoch);
        var dispatcher = new NexusTaskDispatcher(time);
        var options = new PollerScalingOptions();
        var first = dispatcher.DispatchAsync("ns", "tq", Start("r-1"), TimeSpan.FromSeconds(30), CancellationToken.None);
        var second = dispatcher.DispatchAsync("ns", "tq", Start("r-2"), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.NotNull(await dispatcher.PollAsync("ns", "tq", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.Equal(1, dispatcher.ScalingDecision("ns", "tq", TimeSpan.Zero, options)); // two came, one was taken
        Assert.NotNull(await dispatcher.PollAsync("ns", "tq", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.Equal(-1, dispatcher.ScalingDecision("ns", "tq", TimeSpan.FromSeconds(2), options)); // that poll had waited
        Assert.Null(dispatcher.ScalingDecision("ns", "other", TimeSpan.Zero, options));

        var balanced = new NexusTaskDispatcher(time);
        var poll = balanced.PollAsync("ns", "tq", TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(balanced.PollersOf("ns", "tq") == 1)));
        var third = balanced.DispatchAsync("ns", "tq", Start("r-3"), TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.NotNull(await poll);
        Assert.Null(balanced.ScalingDecision("ns", "tq", TimeSpan.Zero, options)); // one came, one was taken, none waits

        // A request that has waited longer than the minimum backlog age asks for one more poll, once the rates of the
        // last seconds say nothing (they are on the dispatcher's clock too).
        var fourth = balanced.DispatchAsync("ns", "tq", Start("r-4"), TimeSpan.FromSeconds(60), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, balanced.ScalingDecision("ns", "tq", TimeSpan.Zero, options));
        Assert.NotNull(await balanced.PollAsync("ns", "tq", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.Null(balanced.ScalingDecision("ns", "tq", TimeSpan.Zero, options)); // nothing waits, nothing came lately
        _ = (first, second, third, fourth); // never answered: they end with their dispatcher
    }
}

