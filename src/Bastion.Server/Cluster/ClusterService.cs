using System.Collections.Frozen;
using System.Reflection;
using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Bastion.Engine.Namespaces;
using Bastion.Frontend.WorkflowService;
using Bastion.Security.Audit;
using Bastion.Security.Pipeline;
using Bastion.Storage;
using Bastion.Wire;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Server.Cluster;

/// <summary>
/// The receiving side of <see cref="ClusterMethods"/>, on the cluster listener only (a call to it on any other listener
/// is refused): runs a forwarded call's handler here, with the namespace the entry node resolved and no pipeline of its
/// own; takes a handed-off task into this node's queue; offers a task to a root partition's pollers, runs a poll another
/// node's partition sent on to its root and reports a queue's pollers; matches a Nexus request another node made for a
/// queue whose Nexus tasks are served here; starts a task a poll on another node took; runs a step of work
/// between runs whose target lives here. Failures go back as
/// the handler's gRPC status, mapped by the one <see cref="ErrorMapper"/>.
/// </summary>
internal sealed class ClusterService
{
    /// <summary>The longest a partition's offer is held here, whatever the sender asks.</summary>
    private static readonly TimeSpan s_maxOfferHold = TimeSpan.FromSeconds(10);

    private static readonly MethodInfo s_bind = typeof(ClusterService).GetMethod(nameof(Bind), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly FrozenDictionary<string, Func<WorkflowServiceHandler, byte[], ServerCallContext, Task<byte[]>>> _handlers;
    private readonly WorkflowServiceHandler _workflows;
    private readonly NamespaceRegistry _namespaces;
    private readonly HistoryEngine _engine;
    private readonly NexusTaskDispatcher _nexusTasks;
    private readonly ClusterListener _listener;
    private readonly TimeProvider _time;
    private readonly IAuditSink _audit;
    private long _forwards;
    private long _handOffs;
    private long _starts;
    private long _operations;
    private long _nexusDispatches;

    public ClusterService(WorkflowServiceHandler workflows, NamespaceRegistry namespaces, HistoryEngine engine, NexusTaskDispatcher nexusTasks, ClusterListener listener, TimeProvider time, IAuditSink audit)
    {
        _audit = audit;
        _workflows = workflows;
        _namespaces = namespaces;
        _engine = engine;
        _nexusTasks = nexusTasks;
        _listener = listener;
        _time = time;
        _handlers = GrpcServiceDescriptors.WorkflowService.Methods.ToFrozenDictionary(
            GrpcServiceDescriptors.PathOf,
            m => (Func<WorkflowServiceHandler, byte[], ServerCallContext, Task<byte[]>>)s_bind.MakeGenericMethod(m.InputType.ClrType, m.OutputType.ClrType).Invoke(null, [m])!,
            StringComparer.Ordinal);
    }

    /// <summary>Calls served for other nodes so far: forwarded calls, tasks handed to this node's queues, tasks started here for their polls, steps between runs, Nexus requests matched here.</summary>
    public (long Forwards, long HandOffs, long Starts, long Operations, long NexusDispatches) Served =>
        (Interlocked.Read(ref _forwards), Interlocked.Read(ref _handOffs), Interlocked.Read(ref _starts), Interlocked.Read(ref _operations), Interlocked.Read(ref _nexusDispatches));

    private static Func<WorkflowServiceHandler, byte[], ServerCallContext, Task<byte[]>> Bind<TReq, TResp>(MethodDescriptor method)
        where TReq : class, IMessage<TReq>, new()
        where TResp : class, IMessage<TResp>, new()
    {
        var handler = HandlerMethods.Resolve<WorkflowServiceHandler, TReq, TResp>(method);
        var parser = new MessageParser<TReq>(() => new TReq());
        return async (target, body, context) => (await handler(target, parser.ParseFrom(body), context).ConfigureAwait(false)).ToByteArray();
    }

    public Task<byte[]> Forward(byte[] body, ServerCallContext context) => RunAsync(context, async () =>
    {
        var forward = ClusterMessages.DecodeForward(body);
        Interlocked.Increment(ref _forwards);
        var handler = _handlers.GetValueOrDefault(forward.Method)
            ?? throw new RpcException(new Status(StatusCode.Unimplemented, $"{forward.Method} cannot be forwarded: this node does not serve it."));
        var ns = _namespaces.FindById(forward.NamespaceId);
        if (ns is null)
        {
            await _namespaces.RefreshAsync(context.CancellationToken).ConfigureAwait(false); // created on another node moments ago
            ns = _namespaces.FindById(forward.NamespaceId) ?? throw new ServiceException(ErrorKind.NotFound, "The call's namespace does not exist (any more).");
        }

        var slash = forward.Method.LastIndexOf('/');
        new CallContext
        {
            Service = forward.Method[1..slash],
            Method = forward.Method[(slash + 1)..],
            Peer = context.Peer,
            StartTime = _time.GetUtcNow().UtcDateTime,
            Namespace = ns,
            NamespaceName = ns.Name,
        }.AttachTo(context);
        return await WithAuditAsync(forward.Audit, context, () => handler(_workflows, forward.Request, context)).ConfigureAwait(false);
    });

    public Task<byte[]> AddTask(byte[] body, ServerCallContext context) => RunAsync(context, () =>
    {
        var handOff = ClusterMessages.DecodeHandOff(body);
        Interlocked.Increment(ref _handOffs);
        _engine.Matching.Add(handOff.Queue, handOff.Item, handOff.Front);
        return Task.FromResult(Array.Empty<byte>());
    });

    public Task<byte[]> OfferTask(byte[] body, ServerCallContext context) => RunAsync(context, async () =>
    {
        var (root, item, hold) = ClusterMessages.DecodeOffer(body);
        Interlocked.Increment(ref _handOffs);
        var taken = hold > TimeSpan.Zero
            ? await _engine.Matching.HoldAsync(root, item, hold < s_maxOfferHold ? hold : s_maxOfferHold, context.CancellationToken).ConfigureAwait(false)
            : _engine.Matching.TryOffer(root, item);
        return ClusterMessages.EncodeTaken(taken, ClusterMessages.VersionOf(body));
    });

    public Task<byte[]> PollRoot(byte[] body, ServerCallContext context) => RunAsync(context, async () =>
    {
        var poll = ClusterMessages.DecodeRootPoll(body);
        Interlocked.Increment(ref _forwards);
        IMessage? response = poll.Root.Type == TaskCategory.Workflow
            ? await _workflows.PollWorkflowPartitionAsync(poll.Root.Root, PollWorkflowTaskQueueRequest.Parser.ParseFrom(poll.PollRequest), context).ConfigureAwait(false)
            : await _workflows.PollActivityPartitionAsync(poll.Root.Root, PollActivityTaskQueueRequest.Parser.ParseFrom(poll.PollRequest), context).ConfigureAwait(false);
        return ClusterMessages.EncodeStarted(response?.ToByteArray(), ClusterMessages.VersionOf(body));
    });

    public Task<byte[]> RecentPollers(byte[] body, ServerCallContext context) => RunAsync(context, () =>
        Task.FromResult(ClusterMessages.EncodePollers(_engine.Matching.RecentPollersOfAllPartitions(ClusterMessages.DecodeQueue(body), MatchingEngine.PollerWindow), ClusterMessages.VersionOf(body))));

    public Task<byte[]> RunOperation(byte[] body, ServerCallContext context) => RunAsync(context, () =>
    {
        Interlocked.Increment(ref _operations);
        return _engine.RunOperationAsync(body);
    });

    public Task<byte[]> DispatchNexusTask(byte[] body, ServerCallContext context) => RunAsync(context, async () =>
    {
        var dispatch = ClusterMessages.DecodeNexusDispatch(body);
        Interlocked.Increment(ref _nexusDispatches);
        var request = Temporalio.Api.Nexus.V1.Request.Parser.ParseFrom(dispatch.Request);
        return ClusterMessages.EncodeNexusAnswer(await _nexusTasks.DispatchForAsync(dispatch.NamespaceId, dispatch.TaskQueue, request, dispatch.Timeout, context.CancellationToken).ConfigureAwait(false), ClusterMessages.VersionOf(body));
    });

    /// <summary>Re-reads the cluster's settings (set once the server has its refresher): false when the read failed.</summary>
    public Func<Task<bool>>? RefreshSettings { get; set; }

    /// <summary>Answers when the settings are read again; UNAVAILABLE when this node could not read them (it tries again on its own).</summary>
    public Task<byte[]> Refresh(byte[] body, ServerCallContext context) => RunAsync(context, async () =>
        RefreshSettings is not { } refresh || await refresh().ConfigureAwait(false)
            ? []
            : throw new ServiceException(ErrorKind.Unavailable, "This node could not read the cluster's settings again; it tries again within its refresh interval."));

    public Task<byte[]> StartTask(byte[] body, ServerCallContext context) => RunAsync(context, async () =>
    {
        var start = ClusterMessages.DecodeStart(body);
        Interlocked.Increment(ref _starts);
        return await WithAuditAsync(start.Audit, context, async () =>
        {
            IMessage? response = start.Queue.Type == TaskCategory.Workflow
                ? await _workflows.StartWorkflowQueueItemAsync(start.Item, PollWorkflowTaskQueueRequest.Parser.ParseFrom(start.PollRequest), start.Queue, context.CancellationToken).ConfigureAwait(false)
                : await _workflows.StartActivityQueueItemAsync(start.Item, PollActivityTaskQueueRequest.Parser.ParseFrom(start.PollRequest), context.CancellationToken).ConfigureAwait(false);
            return ClusterMessages.EncodeStarted(response?.ToByteArray(), ClusterMessages.VersionOf(body));
        }).ConfigureAwait(false);
    });

    /// <summary>
    /// Runs a call that came with its client call's audit record (<see cref="AuditHandOff"/>) with that record ambient,
    /// prepared by this node's sink, so the first transition the call commits here writes it, as on the entry node; the
    /// answer says whether it did (<see cref="ClusterMethods.AuditWrittenTrailer"/>, else
    /// <see cref="ClusterMethods.AuditNotWrittenTrailer"/>), the entry node writes it if not. A record this node sent on
    /// in turn and got no answer for is in doubt: the answer then says neither, and the entry node looks for it.
    /// </summary>
    private async Task<byte[]> WithAuditAsync(byte[]? record, ServerCallContext context, Func<Task<byte[]>> run)
    {
        var riding = record is null ? null : _audit.Prepare(AuditHandOff.Read(record));
        if (riding is null)
        {
            return await run().ConfigureAwait(false);
        }

        byte[] answer;
        PendingAudit.Ambient = riding;
        try
        {
            answer = await run().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            PendingAudit.Ambient = null;
            if (await AnswerAsync(riding) is not { } trailer)
            {
                throw;
            }

            var failure = e as RpcException ?? ToRpcException(e, context);
            failure.Trailers.Add(trailer, "1");
            throw failure;
        }

        PendingAudit.Ambient = null;
        if (await AnswerAsync(riding) is { } written)
        {
            context.ResponseTrailers.Add(written, "1");
        }

        return answer;
    }

    /// <summary>The trailer that says what became of the record: written here, not written, or none when it is in doubt.</summary>
    private async Task<string?> AnswerAsync(PendingAudit riding)
    {
        if (await riding.CloseAsync().ConfigureAwait(false))
        {
            _audit.Landed(riding);
            return ClusterMethods.AuditWrittenTrailer;
        }

        return riding.InDoubt ? null : ClusterMethods.AuditNotWrittenTrailer;
    }

    private async Task<byte[]> RunAsync(ServerCallContext context, Func<Task<byte[]>> run)
    {
        if (!_listener.Serves(context))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "The cluster's internal service is served on the cluster listener only."));
        }

        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw ToRpcException(e, context);
        }
    }

    /// <summary>A failure as the entry node gets it: a body this node cannot read is the sender's error.</summary>
    private static RpcException ToRpcException(Exception e, ServerCallContext context) =>
        ErrorMapper.ToRpcException(e is InvalidDataException or InvalidProtocolBufferException ? new ServiceException(ErrorKind.InvalidArgument, e.Message) : e, context.CancellationToken.IsCancellationRequested);

    /// <summary>Binds the methods for Grpc.AspNetCore.</summary>
    internal sealed class MethodProvider : IServiceMethodProvider<ClusterService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ClusterService> context)
        {
            ArgumentNullException.ThrowIfNull(context);
            context.AddUnaryMethod(ClusterMethods.Forward, [], static (service, body, call) => service.Forward(body, call));
            context.AddUnaryMethod(ClusterMethods.AddTask, [], static (service, body, call) => service.AddTask(body, call));
            context.AddUnaryMethod(ClusterMethods.StartTask, [], static (service, body, call) => service.StartTask(body, call));
            context.AddUnaryMethod(ClusterMethods.RunOperation, [], static (service, body, call) => service.RunOperation(body, call));
            context.AddUnaryMethod(ClusterMethods.OfferTask, [], static (service, body, call) => service.OfferTask(body, call));
            context.AddUnaryMethod(ClusterMethods.PollRoot, [], static (service, body, call) => service.PollRoot(body, call));
            context.AddUnaryMethod(ClusterMethods.RecentPollers, [], static (service, body, call) => service.RecentPollers(body, call));
            context.AddUnaryMethod(ClusterMethods.DispatchNexusTask, [], static (service, body, call) => service.DispatchNexusTask(body, call));
            context.AddUnaryMethod(ClusterMethods.Refresh, [], static (service, body, call) => service.Refresh(body, call));
        }
    }
}

/// <summary>The cluster listener's port, once bound: the only port the internal service answers on.</summary>
internal sealed class ClusterListener
{
    public int Port { get; set; } = -1;

    public bool Serves(ServerCallContext context) => context.GetHttpContext().Connection.LocalPort == Port;
}
