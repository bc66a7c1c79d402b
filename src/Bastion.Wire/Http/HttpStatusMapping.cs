using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Bastion.Wire.Http;

/// <summary>The HTTP status of a gRPC status code: the mapping grpc-gateway uses, which Temporal's HTTP API uses too.</summary>
public static class HttpStatusMapping
{
    /// <summary>Client Closed Request: nginx's code, which grpc-gateway uses for CANCELLED.</summary>
    private const int ClientClosedRequest = 499;

    public static int For(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => ClientClosedRequest,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError, // UNKNOWN, INTERNAL, DATA_LOSS
    };
}
