using Bastion.Engine.Cluster;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Bastion.Security.Audit;
using Bastion.Security.Pipeline;
using Google.Protobuf;
using Grpc.Core;

namespace Bastion.Server.Cluster;

/// <summary>
/// Calls to the other nodes over their cluster listeners (<see cref="NodeChannels"/>: one HTTP/2 channel per node
/// address, mutual TLS with the cluster CA when configured). A node that is not live (or has no address) is UNAVAILABLE at once, as an unreachable one is, so the SDKs retry.
/// </summary>
internal sealed partial class ClusterClient(HistoryEngine engine, ClusterSettings settings, Microsoft.Extensions.Logging.ILogger<ClusterClient> logger) : IClusterTransport, IDisposable
{
    /// <summary>How long a task hand-off may take before it is tried again (the durable task stays).</summary>
    private static readonly TimeSpan s_handOffDeadline = TimeSpan.FromSeconds(5);

    /// <summary>How long a step of work between runs may take on the other node before it is tried again (its task stays).</summary>
    private static readonly TimeSpan s_operationDeadline = TimeSpan.FromSeconds(30);

    /// <summary>How long a change of settings waits for each other node to read it (a node that does not answer reads it on its own).</summary>
    private static readonly TimeSpan s_refreshDeadline = TimeSpan.FromSeconds(3);

    private readonly NodeChannels _channels = new(settings);

    public async Task<byte[]> ForwardAsync(string node, string method, string namespaceId, byte[] request, DateTime deadline, CancellationToken cancellationToken)
    {
        var (invoker, version) = Reach(node);
        var handOff = version >= 5 ? AuditHandOff.TakeAmbient() : null;
        var body = ClusterMessages.Encode(new ClusterMessages.Forward(method, namespaceId, request, handOff?.Record), version);
        return await CallAsync(invoker, ClusterMethods.Forward, Options(deadline == DateTime.MaxValue ? null : deadline, cancellationToken), body, handOff, version).ConfigureAwait(false);
    }

    public async Task AddTaskAsync(string node, QueueKey queue, MatchItem item, bool front, CancellationToken cancellationToken)
    {
        var (invoker, version) = Reach(node);
        var body = ClusterMessages.Encode(new ClusterMessages.TaskHandOff(queue, item, front), version);
        await invoker.AsyncUnaryCall(ClusterMethods.AddTask, null, Options(DateTime.UtcNow + s_handOffDeadline, cancellationToken), body).ConfigureAwait(false);
    }

    public async Task<bool> OfferTaskAsync(string node, QueueKey root, MatchItem item, TimeSpan hold, CancellationToken cancellationToken)
    {
        var (invoker, version) = Reach(node);
        var taken = await invoker.AsyncUnaryCall(ClusterMethods.OfferTask, null, Options(DateTime.UtcNow + hold + s_handOffDeadline, cancellationToken), ClusterMessages.EncodeOffer(root, item, hold, version)).ConfigureAwait(false);
        return ClusterMessages.DecodeTaken(taken);
    }

    public async Task<byte[]?> PollRootAsync(string node, QueueKey root, byte[] pollRequest, DateTime deadline, CancellationToken cancellationToken)
    {
        var (invoker, version) = Reach(node);
        var body = ClusterMessages.Encode(new ClusterMessages.RootPoll(root, pollRequest), version);
        var response = await invoker.AsyncUnaryCall(ClusterMethods.PollRoot, null, Options(deadline, cancellationToken), body).ConfigureAwait(false);
        return ClusterMessages.DecodeStarted(response);
    }

    public async Task<List<(string Identity, DateTime LastAccess)>> RecentPollersAsync(string node, QueueKey queue, CancellationToken cancellationToken)
    {
        var (invoker, version) = Reach(node);
        var pollers = await invoker.AsyncUnaryCall(ClusterMethods.RecentPollers, null, Options(DateTime.UtcNow + s_handOffDeadline, cancellationToken), ClusterMessages.EncodeQueue(queue, version)).ConfigureAwait(false);
        return ClusterMessages.DecodePollers(pollers);
    }

    public async Task<byte[]?> StartTaskAsync(string node, QueueKey queue, MatchItem item, byte[] pollRequest, CancellationToken cancellationToken)
    {
        var (invoker, version) = Reach(node);
        var handOff = version >= 5 ? AuditHandOff.TakeAmbient() : null;
        var body = ClusterMessages.Encode(new ClusterMessages.TaskStart(queue, item, pollRequest, handOff?.Record), version);
        var started = await CallAsync(invoker, ClusterMethods.StartTask, Options(null, cancellationToken), body, handOff, version).ConfigureAwait(false);
        return ClusterMessages.DecodeStarted(started);
    }

    public async Task<byte[]> RunOperationAsync(string node, byte[] operation, CancellationToken cancellationToken)
    {
        try
        {
            return await Reach(node).Invoker.AsyncUnaryCall(ClusterMethods.RunOperation, null, Options(DateTime.UtcNow + s_operationDeadline, cancellationToken), operation).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw ErrorMapper.FromRpcException(e);
        }
    }

    public async Task<NexusTaskAnswer?> DispatchNexusTaskAsync(string node, string namespaceId, string taskQueue, Temporalio.Api.Nexus.V1.Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var (invoker, version) = Reach(node);
            var body = ClusterMessages.Encode(new ClusterMessages.NexusDispatch(namespaceId, taskQueue, request.ToByteArray(), timeout), version);

            // The owner waits the timeout itself and answers; the margin is the way there and back.
            var answer = await invoker.AsyncUnaryCall(ClusterMethods.DispatchNexusTask, null, Options(DateTime.UtcNow + timeout + s_handOffDeadline, cancellationToken), body).ConfigureAwait(false);
            return ClusterMessages.DecodeNexusAnswer(answer);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded && !cancellationToken.IsCancellationRequested)
        {
            return null; // no answer in time, as a local dispatch that timed out
        }
        catch (RpcException e)
        {
            throw ErrorMapper.FromRpcException(e);
        }
    }

    /// <summary>
    /// After this node changed the cluster's settings: every other live node (of protocol 8 or later; live as the database
    /// says now, so a node that joined since this one last looked is told too) reads them again, all at once. Returns when
    /// they have, or after <see cref="s_refreshDeadline"/> in all (the read of the live nodes included); a node that did
    /// not answer in time reads them on its own within its refresh interval, as a node of an older build does.
    /// </summary>
    public async Task RefreshOthersAsync()
    {
        var membership = engine.Routing.Membership;
        var deadline = DateTime.UtcNow + s_refreshDeadline; // one budget for the read and the answers
        IReadOnlyList<Bastion.Storage.ClusterNode> live;
        using (var bounded = new CancellationTokenSource(s_refreshDeadline))
        {
            live = await membership.ReadLiveNowAsync(bounded.Token).ConfigureAwait(false);
        }

        var others = live.Where(n => n.NodeId != membership.Self.NodeId && ClusterProtocol.Common(membership.Self, n) >= 8).ToList();
        await Task.WhenAll(others.Select(async node =>
        {
            try
            {
                await _channels.Invoker(node.Address).AsyncUnaryCall(ClusterMethods.Refresh, null, Options(deadline, CancellationToken.None), []).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The change is committed: whatever befell the request, the call that made it succeeded, and that node reads it on its own.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogRefreshNotConfirmed(logger, e, node.NodeId);
            }
        })).ConfigureAwait(false);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 2024, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Node {Node} did not confirm it read the cluster's settings again after this node changed them; it reads them within its refresh interval.")]
    private static partial void LogRefreshNotConfirmed(Microsoft.Extensions.Logging.ILogger logger, Exception e, string node);

    private static CallOptions Options(DateTime? deadline, CancellationToken cancellationToken) => new(deadline: deadline, cancellationToken: cancellationToken);

    /// <summary>
    /// A call that may carry its client call's audit record: the other node's answer says in a trailer whether it wrote
    /// the record (<see cref="ClusterMethods.AuditWrittenTrailer"/>, <see cref="ClusterMethods.AuditNotWrittenTrailer"/>;
    /// they go no further). A call that got no such answer — the node died or the connection broke, perhaps after the
    /// node committed the record — leaves it in doubt, so the entry node looks for it before writing it. A node older
    /// than protocol 7 says only "written", so its silence means not written.
    /// </summary>
    private static async Task<byte[]> CallAsync(CallInvoker invoker, Method<byte[], byte[]> method, CallOptions options, byte[] body, AuditHandOff? handOff, byte version)
    {
        if (handOff is null)
        {
            return await invoker.AsyncUnaryCall(method, null, options, body).ConfigureAwait(false);
        }

        bool? written = null;
        try
        {
            using var call = invoker.AsyncUnaryCall(method, null, options, body);
            var response = await call.ResponseAsync.ConfigureAwait(false);
            written = AuditAnswer(call.GetTrailers(), version); // silent when that node's own hand-off got no answer
            return response;
        }
        catch (RpcException e)
        {
            written = AuditAnswer(e.Trailers, version);
            if (written is null)
            {
                throw;
            }

            var trailers = new Metadata();
            foreach (var entry in e.Trailers.Where(t => t.Key is not (ClusterMethods.AuditWrittenTrailer or ClusterMethods.AuditNotWrittenTrailer)))
            {
                trailers.Add(entry);
            }

            throw new RpcException(e.Status, trailers, e.Message);
        }
        finally
        {
            handOff.Ended(written);
        }
    }

    /// <summary>What a node's answer says of the record it was sent: written, not written, or nothing (null).</summary>
    internal static bool? AuditAnswer(Metadata trailers, byte version) =>
        trailers.Get(ClusterMethods.AuditWrittenTrailer) is not null ? true
        : trailers.Get(ClusterMethods.AuditNotWrittenTrailer) is not null || version < 7 ? false
        : null;

    /// <summary>A live node's channel, and the version of the internal messages to write to it.</summary>
    private (CallInvoker Invoker, byte Version) Reach(string node)
    {
        (string Address, byte Protocol)? reach;
        try
        {
            reach = engine.Routing.Membership.Reach(node);
        }
        catch (ClusterVersionException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }

        var (address, version) = reach ?? throw new RpcException(new Status(StatusCode.Unavailable, $"Cluster node {node} is not live; retry."));
        return (_channels.Invoker(address), version);
    }

    /// <summary>After each membership refresh: channels to addresses long gone from the live set are closed.</summary>
    public void Forget(IReadOnlyList<Storage.ClusterNode> live) => _channels.Forget(live);

    public void Dispose() => _channels.Dispose();
}
