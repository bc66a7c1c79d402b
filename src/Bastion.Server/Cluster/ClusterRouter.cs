using Bastion.Engine.History;
using Bastion.Frontend.Cluster;
using Bastion.Security.Pipeline;
using Google.Protobuf;
using Grpc.Core;

namespace Bastion.Server.Cluster;

/// <summary>
/// Runs a call where what it addresses lives (<see cref="CallRoutes"/>): here when this node serves that shard or task
/// queue, else forwarded to the node that does, with the call's deadline and cancellation. The owner runs the same
/// handler without the pipeline (this node authenticated, authorized and audits the call); its status and error
/// details come back as they are. A call is forwarded at most once: the owner runs it whatever it then owns.
/// </summary>
internal sealed class ClusterRouter(HistoryEngine engine, ClusterClient client) : ICallRouter
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

        var owner = CallRoutes.Of(message, ns.Id, engine) switch
        {
            ShardTarget shard => engine.Routing.OwnerOfShard(shard.Shard),
            QueueTarget queue => engine.Routing.OwnerOfQueue(queue.Queue),
            _ => null,
        };
        if (owner is null || engine.Routing.IsSelf(owner))
        {
            return await local(request, context).ConfigureAwait(false);
        }

        var bytes = await client.ForwardAsync(owner, context.Method, ns.Id, message.ToByteArray(), context.Deadline, context.CancellationToken).ConfigureAwait(false);
        var response = (IMessage)Activator.CreateInstance<TResponse>();
        response.MergeFrom(bytes);
        return (TResponse)response;
    }
}
