using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Bastion.Wire;

/// <summary>
/// Binds every method of a protobuf service descriptor to the handler type <typeparamref name="THandler"/>.
/// A handler method named after the RPC, shaped <c>Task&lt;TResp&gt; Name(TReq, ServerCallContext)</c>, serves it;
/// a method without one answers UNIMPLEMENTED naming the method.
/// </summary>
public sealed class DescriptorServiceMethodProvider<THandler>(ServiceDescriptor service) : IServiceMethodProvider<THandler>
    where THandler : class
{
    private static readonly MethodInfo s_bind = typeof(DescriptorServiceMethodProvider<THandler>)
        .GetMethod(nameof(Bind), BindingFlags.NonPublic | BindingFlags.Static)!;

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<THandler> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var method in service.Methods)
        {
            if (method.IsClientStreaming || method.IsServerStreaming)
            {
                continue; // Temporal's services are unary only.
            }

            s_bind.MakeGenericMethod(method.InputType.ClrType, method.OutputType.ClrType)
                .Invoke(null, [context, method]);
        }
    }

    private static void Bind<TReq, TResp>(ServiceMethodProviderContext<THandler> context, MethodDescriptor descriptor)
        where TReq : class, IMessage<TReq>, new()
        where TResp : class, IMessage<TResp>, new()
    {
        var grpcMethod = new Method<TReq, TResp>(
            MethodType.Unary,
            descriptor.Service.FullName,
            descriptor.Name,
            ProtobufMarshaller.For<TReq>(),
            ProtobufMarshaller.For<TResp>());

        var invoker = HandlerMethods.Resolve<THandler, TReq, TResp>(descriptor);
        context.AddUnaryMethod(grpcMethod, [descriptor], invoker);
    }
}
