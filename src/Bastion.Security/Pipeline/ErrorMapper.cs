using Bastion.Engine.Errors;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Common.V1;

namespace Bastion.Security.Pipeline;

/// <summary>
/// The one place where failures become gRPC statuses. Typed details travel as a google.rpc.Status in the
/// <c>grpc-status-details-bin</c> trailer, which is how the SDKs recognise NotFound, AlreadyStarted and friends.
/// Anything unexpected is INTERNAL with no detail: internals never reach the caller.
/// </summary>
public static class ErrorMapper
{
    private const int MaxMessageLength = 1024;

    public static RpcException ToRpcException(Exception exception, bool callCanceled)
    {
        switch (exception)
        {
            case RpcException rpc:
                return rpc;
            case ServiceException service:
                return Create(ToStatusCode(service.Kind), service.Message, service.Detail);
            case OperationCanceledException when callCanceled:
                return Create(StatusCode.Cancelled, "The call was canceled.", null);
            default:
                return Create(StatusCode.Internal, "Internal error; the server log has the details.", null);
        }
    }

    public static StatusCode ToStatusCode(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        ErrorKind.NotFound => StatusCode.NotFound,
        ErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        ErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        ErrorKind.PermissionDenied => StatusCode.PermissionDenied,
        ErrorKind.Unauthenticated => StatusCode.Unauthenticated,
        ErrorKind.ResourceExhausted => StatusCode.ResourceExhausted,
        ErrorKind.Unavailable => StatusCode.Unavailable,
        ErrorKind.Canceled => StatusCode.Cancelled,
        ErrorKind.DeadlineExceeded => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };

    private static RpcException Create(StatusCode code, string message, IMessage? detail)
    {
        if (message.Length > MaxMessageLength)
        {
            message = message[..MaxMessageLength] + "…";
        }

        var trailers = new Metadata();
        if (detail != null)
        {
            var status = new GrpcStatus { Code = (int)code, Message = message };
            status.Details.Add(Any.Pack(detail));
            trailers.Add("grpc-status-details-bin", status.ToByteArray());
        }

        return new RpcException(new Status(code, message), trailers);
    }
}
