using System.Reflection;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Bastion.Wire;

/// <summary>
/// Finds the handler of an RPC: a public instance method named after it, shaped
/// <c>Task&lt;TResp&gt; Name(TReq, ServerCallContext)</c>. Without one, the call answers UNIMPLEMENTED naming the
/// method. gRPC and the HTTP API both bind through here, so they always reach the same code.
/// </summary>
public static class HandlerMethods
{
    public static UnaryServerMethod<THandler, TReq, TResp> Resolve<THandler, TReq, TResp>(MethodDescriptor descriptor)
        where THandler : class
        where TReq : class
        where TResp : class
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var handler = typeof(THandler).GetMethod(
            descriptor.Name,
            BindingFlags.Public | BindingFlags.Instance,
            [typeof(TReq), typeof(ServerCallContext)]);
        if (handler != null && handler.ReturnType == typeof(Task<TResp>))
        {
            return handler.CreateDelegate<UnaryServerMethod<THandler, TReq, TResp>>();
        }

        var message = $"Method {descriptor.Service.Name}/{descriptor.Name} is not implemented by Bastion.";
        return (_, _, _) => throw new RpcException(new Status(StatusCode.Unimplemented, message));
    }
}
