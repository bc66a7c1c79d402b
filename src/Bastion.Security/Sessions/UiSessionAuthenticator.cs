using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Bastion.Security.Sso;
using Grpc.Core;

namespace Bastion.Security.Sessions;

/// <summary>
/// A web UI call under <c>server start</c>: the session the UI's host found for the request's cookie (after its CSRF
/// check) acts as who signed in, with the access they have now. An API-key session acts with the key's owner's access
/// (a key disabled, expired or deleted, or a changed grant, applies on the next call); a single sign-on session as its
/// user (<see cref="SsoPolicy.AuthenticateSession"/>: a removed user or SSO turned off ends it). A session that no
/// longer stands is ended (<see cref="UiSessions.Revoke"/>, which records why). Null when the call is not one.
/// </summary>
public sealed class UiSessionAuthenticator(ApiKeyAuthenticator apiKeys, SsoPolicy sso, UiSessions sessions) : IAuthenticator
{
    public async ValueTask<Principal?> AuthenticateAsync(CallContext callContext, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetHttpContext().Features.Get<ViaUi>()?.Session is { } session
            ? await PrincipalOfAsync(session).ConfigureAwait(false)
            : null;
    }

    /// <summary>Who <paramref name="session"/> acts as now; UNAUTHENTICATED (and the session ended) when it no longer stands.</summary>
    public async ValueTask<Principal> PrincipalOfAsync(UiSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        try
        {
            return session.ApiKeyId is { } keyId
                ? await apiKeys.AuthenticateSignedInAsync(keyId).ConfigureAwait(false)
                : sso.AuthenticateSession(session);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.Unauthenticated)
        {
            sessions.Revoke(session, e.Message);
            throw;
        }
    }
}
