using Bastion.Security.Authorization;
using Grpc.Core;

namespace Bastion.Security.Pipeline;

/// <summary>
/// One way a caller proves who it is (a UI session, an API key, a client certificate, the dev server's loopback
/// caller). The pipeline asks its authenticators in turn, in the order they were registered; the first that finds a
/// credential of its kind decides.
/// </summary>
public interface IAuthenticator
{
    /// <summary>
    /// The caller's principal; null when the call carries no credential of this kind (the next authenticator is
    /// asked); a <see cref="Engine.Errors.ServiceException"/> when it carries one that is not valid (the call ends).
    /// </summary>
    ValueTask<Principal?> AuthenticateAsync(CallContext callContext, ServerCallContext context);
}
