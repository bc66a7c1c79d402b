using Bastion.Engine.History;
using Bastion.Frontend.Cluster;
using Bastion.Security.Pipeline;
using Bastion.Storage.Telemetry;
using Google.Protobuf;
using Grpc.Core;

namespace Bastion.Server.Cluster;

/// <summary>
/// Runs a call where what it addresses lives (<see cref="CallRoutes"/>): here when this node serves that shard or task
/// queue, else forwarded to the node that does, with the call's deadline and cancellation. The owner runs the same
/// handler without the pipeline (this node authenticated, authorized and audits the call); its status and error
/// details come back as they are. A call is forwarded at most once: the owner runs it whatever it then owns.
/// While what the call addresses is between owners — its node died and its lease has not run out, or the new owner has
/// not taken it yet — the call waits and tries again (UNAVAILABLE means nothing was done), within its deadline and
/// <see cref="MoveWait"/>, so a fail-over looks like a slow call to the SDKs rather than errors.
/// </summary>
internal sealed class ClusterRouter(HistoryEngine engine, ClusterClient client, TimeProvider time) : ICallRouter
{
    public async Task<TResponse> InvokeAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, CallContext pipeline, UnaryServerMethod<TRequest, TResponse> local)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(local);
        if (pipeline.Namespace is not { } ns || request is not IMessage message)
        {
            return await local(request, context).ConfigureAwait(false);
        }

        var target = CallRoutes.Of(message, ns.Id, engine);
        if (target is null)
        {
            return await local(request, context).ConfigureAwait(false);
        }

        MoveWait? moves = null; // made at a first failure: most calls never fail
        while (true)
        {
            var attemptStarted = time.GetUtcNow().UtcDateTime;
            try
            {
                return await InvokeOnceAsync(target, message, ns.Id, context, request, local).ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnavailable(e) && !context.CancellationToken.IsCancellationRequested)
            {
                // The wait starts at a move's first failure, not at the call's start: a long poll that had waited at a
                // node for a minute when that node died gets the same time to find the new owner as a call made just then.
                if ((moves ??= new()).Next(attemptStarted, time.GetUtcNow().UtcDateTime, context.Deadline) is not { } pause)
                {
                    throw;
                }

                await Task.Delay(pause, time, context.CancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<TResponse> InvokeOnceAsync<TRequest, TResponse>(CallTarget target, IMessage message, string namespaceId, ServerCallContext context, TRequest request, UnaryServerMethod<TRequest, TResponse> local)
        where TRequest : class
        where TResponse : class
    {
        var owner = target switch
        {
            ShardTarget shard => engine.Routing.OwnerOfShard(shard.Shard),
            QueueTarget queue => engine.Routing.OwnerOfQueue(queue.Partitioned ? engine.Routing.PlaceAnywhere(queue.Queue) : queue.Queue),
            NexusQueueTarget nexus => engine.Routing.OwnerOfNexusQueue(nexus.NamespaceId, nexus.TaskQueue),
            NodeTarget node => engine.Routing.IsLive(node.Node) ? node.Node : engine.Routing.Self, // a gone node's tasks went with it: answered here (not found)
            _ => engine.Routing.Self,
        };
        var kind = target switch
        {
            ShardTarget => "shard",
            NodeTarget => "node",
            _ => "queue",
        };
        if (engine.Routing.IsSelf(owner))
        {
            Count(kind, "local");
            return await local(request, context).ConfigureAwait(false);
        }

        Count(kind, "forwarded");
        var bytes = await client.ForwardAsync(owner, context.Method, namespaceId, message.ToByteArray(), context.Deadline, context.CancellationToken).ConfigureAwait(false);
        var response = (IMessage)Activator.CreateInstance<TResponse>();
        response.MergeFrom(bytes);
        return (TResponse)response;
    }

    private static void Count(string target, string route) =>
        ServerMetrics.ClusterRoutedCalls.Add(1, new KeyValuePair<string, object?>("target", target), new KeyValuePair<string, object?>("route", route));

    private static bool IsUnavailable(Exception e) =>
        e is RpcException { StatusCode: StatusCode.Unavailable } || e is Bastion.Engine.Errors.ServiceException { Kind: Bastion.Engine.Errors.ErrorKind.Unavailable };
}
