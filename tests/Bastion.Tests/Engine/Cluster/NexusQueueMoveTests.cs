using Bastion.Engine.Cluster;
using Bastion.Engine.Matching;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Temporalio.Api.Nexus.V1;

namespace Bastion.Tests.Engine.Cluster;

/// <summary>
/// A node joins and takes a task queue's Nexus half: the node that served it ends the polls waiting there (their
/// workers poll again, reaching the new node) and fails the requests no poller took with a retryable handler error.
/// </summary>
public sealed class NexusQueueMoveTests : IAsyncLifetime
{
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();

    public async Task InitializeAsync() => await _store.MigrateAsync(4, CancellationToken.None);

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private Task<ClusterMembership> JoinAsync(string name) =>
        ClusterMembership.JoinAsync(_store, new ClusterNode(name, $"{name}:7243", DateTime.UtcNow), TimeProvider.System, NullLogger.Instance, CancellationToken.None);

    [Fact]
    public async Task WhenTheQueueMoves_WaitingPollsEndEmpty_AndUntakenRequestsFailRetryably()
    {
        await using var a = await JoinAsync("a");
        var dispatcher = new NexusTaskDispatcher { Routing = new ClusterRouting(a, _ => true, new NoTransport()) };
        var n = 0;
        string Named(string prefix, string owner)
        {
            string name;
            do
            {
                name = $"{prefix}-{n++}";
            }
            while (Rendezvous.OwnerOf(ClusterRouting.NexusQueueKey("ns", name), ["a", "b"]) != owner);

            return name;
        }

        var moving = Named("moving", "b");
        var movingWithoutPoller = Named("moving-without-poller", "b");
        var staying = Named("staying", "a");

        var poll = dispatcher.PollAsync("ns", moving, TimeSpan.FromMinutes(5), CancellationToken.None);
        var stayingPoll = dispatcher.PollAsync("ns", staying, TimeSpan.FromMinutes(5), CancellationToken.None);
        var request = dispatcher.DispatchAsync("ns", movingWithoutPoller, new Request(), TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(dispatcher.PollersOf("ns", moving) == 1 && dispatcher.PollersOf("ns", staying) == 1)));
        dispatcher.ReleaseMoved(); // nothing moved yet
        Assert.False(poll.IsCompleted || request.IsCompleted);

        await using var b = await JoinAsync("b");
        await a.RefreshAsync(CancellationToken.None);
        dispatcher.ReleaseMoved();

        Assert.Null(await poll.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(stayingPoll.IsCompleted);
        var failed = (await request.WaitAsync(TimeSpan.FromSeconds(30)))!.HandlerFailure!;
        Assert.Equal(("UNAVAILABLE", Temporalio.Api.Enums.V1.NexusHandlerErrorRetryBehavior.Retryable), (failed.NexusHandlerFailureInfo.Type, failed.NexusHandlerFailureInfo.RetryBehavior));
    }

    /// <summary>A transport never used here: the dispatcher only asks the routing who owns a queue.</summary>
    private sealed class NoTransport : IClusterTransport
    {
        public Task AddTaskAsync(string node, QueueKey queue, MatchItem item, bool front, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> OfferTaskAsync(string node, QueueKey root, MatchItem item, TimeSpan hold, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<byte[]?> PollRootAsync(string node, QueueKey root, byte[] pollRequest, DateTime deadline, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<List<(string Identity, DateTime LastAccess)>> RecentPollersAsync(string node, QueueKey queue, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<byte[]?> StartTaskAsync(string node, QueueKey queue, MatchItem item, byte[] pollRequest, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<byte[]> RunOperationAsync(string node, byte[] operation, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<NexusTaskAnswer?> DispatchNexusTaskAsync(string node, string namespaceId, string taskQueue, Request request, TimeSpan timeout, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
