using System.Buffers;
using Google.Protobuf;
using Grpc.Core;

namespace Bastion.Wire;

/// <summary>gRPC marshallers built from a message type's parser; a body that does not parse is INVALID_ARGUMENT.</summary>
public static class ProtobufMarshaller
{
    public static Marshaller<T> For<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return new Marshaller<T>(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context =>
            {
                try
                {
                    return parser.ParseFrom(context.PayloadAsReadOnlySequence());
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new RpcException(new Status(
                        StatusCode.InvalidArgument,
                        $"The request body is not a valid {typeof(T).Name}: {e.Message}"));
                }
            });
    }
}
