using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.DependencyInjection;

namespace Bastion.Wire.Http;

/// <summary>Calls one RPC for the HTTP API: through the interceptor (the security pipeline), then the handler gRPC would call.</summary>
internal interface IHttpMethodInvoker
{
    Task<IMessage> InvokeAsync(IMessage request, ServerCallContext context, IServiceProvider services);
}

/// <inheritdoc />
internal sealed class HttpMethodInvoker<THandler, TReq, TResp>(Interceptor pipeline, MethodDescriptor method) : IHttpMethodInvoker
    where THandler : class
    where TReq : class, IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private readonly UnaryServerMethod<THandler, TReq, TResp> _handler = HandlerMethods.Resolve<THandler, TReq, TResp>(method);

    public async Task<IMessage> InvokeAsync(IMessage request, ServerCallContext context, IServiceProvider services)
    {
        var handler = services.GetRequiredService<THandler>();
        return await pipeline.UnaryServerHandler<TReq, TResp>((TReq)request, context, (r, c) => _handler(handler, r, c));
    }
}
