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

    /// <summary>
    /// A failure another node of the cluster answered, as the kind it had there (so the engine's handling of, say, a
    /// target that does not exist is the same wherever the target lives); an unknown status is UNAVAILABLE, retried.
    /// </summary>
    public static ServiceException FromRpcException(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var kind = exception.StatusCode switch
        {
            StatusCode.InvalidArgument => ErrorKind.InvalidArgument,
            StatusCode.NotFound => ErrorKind.NotFound,
            StatusCode.AlreadyExists => ErrorKind.AlreadyExists,
            StatusCode.FailedPrecondition => ErrorKind.FailedPrecondition,
            StatusCode.PermissionDenied => ErrorKind.PermissionDenied,
            StatusCode.Unauthenticated => ErrorKind.Unauthenticated,
            StatusCode.ResourceExhausted => ErrorKind.ResourceExhausted,
            StatusCode.Cancelled => ErrorKind.Canceled,
            StatusCode.DeadlineExceeded => ErrorKind.DeadlineExceeded,
            StatusCode.Unimplemented => ErrorKind.Unimplemented,
            StatusCode.Internal => ErrorKind.Internal,
            _ => ErrorKind.Unavailable,
        };
        return new ServiceException(kind, exception.Status.Detail);
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
        ErrorKind.Unimplemented => StatusCode.Unimplemented,
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
