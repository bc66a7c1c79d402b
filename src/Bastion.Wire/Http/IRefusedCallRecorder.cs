using Grpc.Core;

namespace Bastion.Wire.Http;

/// <summary>
/// Records a call the HTTP layer refused before it reached the security pipeline (no route matched, the body did not
/// parse), so that every call has an audit record. The security pipeline implements it.
/// </summary>
public interface IRefusedCallRecorder
{
    /// <summary><paramref name="context"/>'s method is the operation: the RPC's path when a route matched, else <c>HTTP METHOD /path</c>.</summary>
    ValueTask RecordRefusalAsync(ServerCallContext context, StatusCode status);
}
