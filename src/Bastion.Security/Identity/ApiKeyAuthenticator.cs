using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Pipeline;
using Grpc.Core;

namespace Bastion.Security.Identity;

/// <summary>
/// <c>authorization: Bearer &lt;key&gt;</c> → the principal of the key's owner, with the owner's access as it is
/// now (its groups' included). Checked on every call, so a disabled, expired or deleted key, or a changed grant,
/// takes effect on the next call.
/// </summary>
/// <param name="options">The pipeline's settings (dev mode); null: production.</param>
public sealed class ApiKeyAuthenticator(IdentityRegistry identities, TimeProvider time, PipelineOptions? options = null) : IAuthenticator
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>The key in an <c>authorization</c> header value, or null when it carries none.</summary>
    public static string? BearerToken(string? authorization) =>
        authorization is { Length: > 7 } value && value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? value[BearerPrefix.Length..].Trim()
            : null;

    /// <summary>
    /// Whether no API key exists at all (a dev server without identities), so that none presented can be known. A
    /// key made by another process on the same database counts once the registry re-reads it (at most a second).
    /// </summary>
    public async ValueTask<bool> NoneExistAsync() =>
        !identities.Any<ApiKeyEntry>() && !(await identities.RefreshThrottledAsync().ConfigureAwait(false) && identities.Any<ApiKeyEntry>());

    /// <summary>The call's <c>authorization: Bearer</c> key; null without an authorization header.</summary>
    public async ValueTask<Principal?> AuthenticateAsync(CallContext callContext, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.RequestHeaders.GetValue(SecurityPipeline.AuthorizationHeader) is not { Length: > 0 } authorization)
        {
            return null;
        }

        if (options != null && DevLoopbackAuthenticator.Applies(options, context.GetHttpContext()) && await NoneExistAsync().ConfigureAwait(false))
        {
            // A dev server without API keys cannot know the one presented (the SDKs' tests set one on a shared client):
            // like Temporal's dev server it ignores it, and the call gets what it would get without it.
            return null;
        }

        return await AuthenticateAsync(BearerToken(authorization)
            ?? throw new ServiceException(ErrorKind.Unauthenticated, "The authorization header must be \"Bearer <API key>\".")).ConfigureAwait(false);
    }

    public async ValueTask<Principal> AuthenticateAsync(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        var presented = ApiKeyToken.Parse(token);
        var key = await FindAsync(presented.PublicId).ConfigureAwait(false);
        if (key is null || !presented.Matches(key.SecretHash))
        {
            throw new ServiceException(ErrorKind.Unauthenticated, "The API key is not valid: no key has this id and secret.");
        }

        return PrincipalOf(key);
    }

    /// <summary>
    /// The principal of a key whose secret was proven earlier (a web UI session signed in with it), checked as on every
    /// call: a key disabled, expired or deleted since, or a changed grant, takes effect on the session's next call.
    /// </summary>
    public async ValueTask<Principal> AuthenticateSignedInAsync(string keyId)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        return PrincipalOf(await FindAsync(keyId).ConfigureAwait(false) ?? throw new ServiceException(ErrorKind.Unauthenticated, $"API key {keyId} no longer exists: sign in again."));
    }

    private async ValueTask<ApiKeyEntry?> FindAsync(string publicId)
    {
        var key = identities.Find<ApiKeyEntry>(publicId);
        if (key is null && await identities.RefreshThrottledAsync().ConfigureAwait(false))
        {
            key = identities.Find<ApiKeyEntry>(publicId);
        }

        return key;
    }

    private Principal PrincipalOf(ApiKeyEntry key)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (key.Disabled)
        {
            throw new ServiceException(ErrorKind.PermissionDenied, $"API key {key.Id} is disabled.");
        }

        if (now >= key.ExpiryTime)
        {
            throw new ServiceException(ErrorKind.PermissionDenied, $"API key {key.Id} expired at {key.ExpiryTime.ToString("u", CultureInfo.InvariantCulture)}.");
        }

        var principal = key.OwnerType switch
        {
            PrincipalType.User => identities.Find<UserEntry>(key.OwnerId) is { } user ? identities.PrincipalOf(user) : null,
            PrincipalType.ServiceAccount => ForServiceAccount(identities.Find<ServiceAccountEntry>(key.OwnerId)),
            PrincipalType.Operator => ForOperator(identities.Find<OperatorGrantEntry>(key.OwnerId), now),
            _ => null,
        };
        return principal is null
            ? throw new ServiceException(ErrorKind.Unauthenticated, $"API key {key.Id} belongs to an identity that no longer exists.")
            : principal with { ApiKeyId = key.Id };
    }

    private static Principal? ForServiceAccount(ServiceAccountEntry? account) => account switch
    {
        null => null,
        { ScopedNamespaceId: { } ns } => new Principal(PrincipalType.ServiceAccount, account.Id, account.Name, AccountRole.None, account.Account)
        {
            NamespaceId = ns,
            NamespacePermission = account.ScopedPermission,
        },
        _ => new Principal(PrincipalType.ServiceAccount, account.Id, account.Name, account.Role, account.Account)
        {
            NamespaceGrants = account.NamespaceAccess,
        },
    };

    private static Principal? ForOperator(OperatorGrantEntry? grant, DateTime now)
    {
        if (grant is null)
        {
            return null;
        }

        return now >= grant.ExpiryTime
            ? throw new ServiceException(ErrorKind.PermissionDenied, $"Operator grant {grant.Id} on {grant.NamespaceName} expired at {grant.ExpiryTime.ToString("u", CultureInfo.InvariantCulture)}.")
            : new Principal(PrincipalType.Operator, grant.Id, grant.Operator, AccountRole.None, grant.Account)
            {
                NamespaceId = grant.NamespaceId,
                NamespacePermission = grant.Permission,
            };
    }
}
