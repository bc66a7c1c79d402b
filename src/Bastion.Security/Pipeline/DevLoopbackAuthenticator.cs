using System.Net;
using Bastion.Security.Authorization;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Bastion.Security.Pipeline;

/// <summary>
/// The dev server's caller: on a dev server, a loopback client without other credentials acts as
/// <see cref="Principal.LocalDev"/>, as with Temporal's dev server. Asked last; never on in production.
/// </summary>
public sealed class DevLoopbackAuthenticator(PipelineOptions options) : IAuthenticator
{
    public ValueTask<Principal?> AuthenticateAsync(CallContext callContext, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult(Applies(options, context.GetHttpContext()) ? Principal.LocalDev : null);
    }

    /// <summary>Whether the request is a loopback call to a dev server.</summary>
    public static bool Applies(PipelineOptions options, HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        return options.DevMode && http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote);
    }
}
