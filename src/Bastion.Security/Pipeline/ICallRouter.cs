using Grpc.Core;

namespace Bastion.Security.Pipeline;

/// <summary>
/// Where a call's handler runs, after the pipeline authenticated, authorized and validated it: here, or — in a
/// cluster — on the node that owns the shard or task queue the call addresses (the pipeline and the audit record stay
/// on the node the client reached).
/// </summary>
public interface ICallRouter
{
    Task<TResponse> InvokeAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, CallContext pipeline, UnaryServerMethod<TRequest, TResponse> local)
        where TRequest : class
        where TResponse : class;
}

/// <summary>A standalone server: every handler runs here.</summary>
public sealed class LocalCallRouter : ICallRouter
{
    public Task<TResponse> InvokeAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, CallContext pipeline, UnaryServerMethod<TRequest, TResponse> local)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(local);
        return local(request, context);
    }
}
