using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Grpc.Core;

namespace Bastion.Security.Sessions;

/// <summary>
/// A web UI call under <c>server start</c>: the session the UI's host found for the request's cookie (after its CSRF
/// check) acts with the access of the API key it was signed in with, as that key's owner has it now — a key disabled,
/// expired or deleted, or a changed grant, applies on the session's next call. Null when the call is not one.
/// </summary>
public sealed class UiSessionAuthenticator(ApiKeyAuthenticator apiKeys) : IAuthenticator
{
    public async ValueTask<Principal?> AuthenticateAsync(CallContext callContext, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetHttpContext().Features.Get<ViaUi>()?.Session is { } session
            ? await apiKeys.AuthenticateSignedInAsync(session.ApiKeyId).ConfigureAwait(false)
            : null;
    }
}
