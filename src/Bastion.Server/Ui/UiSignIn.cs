using System.Text.Json;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Bastion.Security.Sessions;
using Bastion.Wire.Http;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Bastion.Server.Ui;

/// <summary>
/// Sign-in and sign-out of the web UI under <c>server start</c>: <c>POST /auth/sign-in</c> takes an API key (JSON
/// <c>{"apiKey": …}</c>), checks it as every call's key is checked (<see cref="ApiKeyAuthenticator"/>) and starts a
/// session (<see cref="UiSessions"/>, cookies by <see cref="UiSessionCookies"/>); <c>POST /auth/sign-out</c> ends it;
/// <c>GET /auth/session</c> says who is signed in. Sign-ins, refused ones included, and sign-outs are audited
/// (<see cref="AuditKinds.UiSignIn"/>, <see cref="AuditKinds.UiSignOut"/>); the key itself is never logged or recorded.
/// </summary>
internal sealed class UiSignIn(
    UiSessions sessions,
    UiSessionCookies cookies,
    ApiKeyAuthenticator apiKeys,
    NamespaceRegistry namespaces,
    IAuditSink audit,
    TimeProvider time)
{
    public const string SignInPath = "/auth/sign-in";
    public const string SignOutPath = "/auth/sign-out";
    public const string SessionPath = "/auth/session";
    private const int MaxSignInBody = 4096;

    /// <summary>The live session the request's cookie names (now marked used), or null.</summary>
    public UiSession? SessionOf(HttpRequest request) => sessions.Find(cookies.SessionId(request));

    /// <summary>Serves the request if it is one of the sign-in paths; null otherwise.</summary>
    public Task? TryServe(HttpContext context)
    {
        var path = context.Request.Path;
        var method = context.Request.Method;
        if (path.Equals(SignInPath, StringComparison.Ordinal))
        {
            return HttpMethods.IsPost(method) ? SignInAsync(context) : MethodNotAllowed(context, "POST");
        }

        if (path.Equals(SignOutPath, StringComparison.Ordinal))
        {
            return HttpMethods.IsPost(method) ? SignOutAsync(context) : MethodNotAllowed(context, "POST");
        }

        if (path.Equals(SessionPath, StringComparison.Ordinal))
        {
            return HttpMethods.IsGet(method) ? DescribeAsync(context) : MethodNotAllowed(context, "GET");
        }

        return null;
    }

    private async Task SignInAsync(HttpContext context)
    {
        // JSON only: a cross-site form cannot send it without a CORS preflight, so no other site signs a visitor in
        // with the attacker's key (login CSRF).
        if (!string.Equals(context.Request.ContentType?.Split(';')[0].Trim(), "application/json", StringComparison.OrdinalIgnoreCase))
        {
            await WriteStatusAsync(context, StatusCode.InvalidArgument, "Sign in with a JSON body {\"apiKey\": \"...\"} (Content-Type: application/json).");
            return;
        }

        var key = await ReadApiKeyAsync(context);
        if (key is null)
        {
            await WriteStatusAsync(context, StatusCode.InvalidArgument, "Sign in with a JSON body {\"apiKey\": \"...\"}: the API key is missing.");
            return;
        }

        Principal principal;
        try
        {
            principal = await apiKeys.AuthenticateAsync(key);
        }
        catch (ServiceException e)
        {
            var refused = ErrorMapper.ToRpcException(e, callCanceled: false);
            if (await AuditAsync(context, AuditKinds.UiSignIn, "SignIn", null, refused.StatusCode))
            {
                await WriteStatusAsync(context, refused.StatusCode, refused.Status.Detail);
            }

            return;
        }

        sessions.End(cookies.SessionId(context.Request)); // a sign-in replaces the browser's earlier session
        var (session, id, csrf) = sessions.Create(principal);
        if (!await AuditAsync(context, AuditKinds.UiSignIn, "SignIn", principal, StatusCode.OK))
        {
            sessions.End(id); // unrecorded, there is no session
            return;
        }

        cookies.Issue(context.Response, id, csrf);
        await WriteInfoAsync(context, principal, session);
    }

    private async Task SignOutAsync(HttpContext context)
    {
        var id = cookies.SessionId(context.Request);
        if (sessions.Find(id) is { } session)
        {
            if (!session.CsrfMatches(context.Request.Headers[UiSessionCookies.CsrfHeader]))
            {
                await WriteStatusAsync(context, StatusCode.PermissionDenied, $"Signing out needs the session's CSRF token in the {UiSessionCookies.CsrfHeader} header.");
                return;
            }

            sessions.End(id);
            await AuditAsync(context, AuditKinds.UiSignOut, "SignOut", session.SignedInAs, StatusCode.OK);
        }

        cookies.Clear(context.Response);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task DescribeAsync(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        Principal principal;
        var session = SessionOf(context.Request);
        try
        {
            principal = session is null
                ? throw new ServiceException(ErrorKind.Unauthenticated, "Not signed in, or the session ended: sign in again.")
                : await apiKeys.AuthenticateSignedInAsync(session.ApiKeyId);
        }
        catch (ServiceException e)
        {
            var refused = ErrorMapper.ToRpcException(e, callCanceled: false);
            await WriteStatusAsync(context, refused.StatusCode, refused.Status.Detail);
            return;
        }

        await WriteInfoAsync(context, principal, session!);
    }

    private async Task WriteInfoAsync(HttpContext context, Principal principal, UiSession session)
    {
        var visible = namespaces.All
            .Where(n => principal.Allows(Permission.NamespaceRead, n) && !principal.IsRefusedBy(n))
            .Select(n => new UiSessionInfo.NamespaceAccess(n.FullName, principal.Allows(Permission.NamespaceWrite, n), principal.Allows(Permission.NamespaceAdmin, n)))
            .ToList();
        var account = new UiSessionInfo.AccountAccess(
            principal.Allows(Permission.AccountMember, null),
            principal.Allows(Permission.AccountRead, null),
            principal.Allows(Permission.AccountAdmin, null),
            principal.Allows(Permission.NamespaceCreate, null));
        var info = new UiSessionInfo(principal.Name, principal.Type.ToString(), principal.Id, session.ApiKeyId, account, visible);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        UiBundle.SetSecurityHeaders(context.Response);
        await JsonSerializer.SerializeAsync(context.Response.Body, info, UiSessionInfoJson.Default.UiSessionInfo, context.RequestAborted);
    }

    private static async Task<string?> ReadApiKeyAsync(HttpContext context)
    {
        if (context.Request.ContentLength is > MaxSignInBody)
        {
            return null;
        }

        try
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            if (body.Length > MaxSignInBody)
            {
                return null;
            }

            using var json = JsonDocument.Parse(body.ToArray());
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("apiKey", out var key) && key.ValueKind == JsonValueKind.String
                && key.GetString() is { Length: > 0 } value
                ? value.Trim()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes the record; false (and a 503 answered) when it cannot be written: an unrecorded sign-in does not happen.</summary>
    private async Task<bool> AuditAsync(HttpContext context, string kind, string operation, Principal? principal, StatusCode status)
    {
        var record = new AuditRecord
        {
            LogId = Guid.NewGuid().ToString(),
            Kind = kind,
            EmitTime = time.GetUtcNow().UtcDateTime,
            Operation = "bastion.ui/" + operation,
            PrincipalType = principal?.Type.ToString() ?? "Anonymous",
            PrincipalId = principal?.Id ?? string.Empty,
            PrincipalName = principal?.Name ?? string.Empty,
            ApiKeyId = principal?.ApiKeyId,
            Account = principal?.Account,
            Status = (int)status,
            Peer = HttpPeer.Of(context),
            XForwardedFor = context.Request.Headers["X-Forwarded-For"].FirstOrDefault(),
            Via = ViaUi.Name,
        };
        try
        {
            await audit.WriteAsync(record, CancellationToken.None); // not the request's token: a client that goes away does not take its record with it
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await WriteStatusAsync(context, StatusCode.Unavailable, "The sign-in could not be recorded in the audit log. Retry later.");
            return false;
        }
    }

    private static Task MethodNotAllowed(HttpContext context, string allowed)
    {
        context.Response.Headers.Allow = allowed;
        return WriteStatusAsync(context, StatusCode.Unimplemented, $"{context.Request.Method} {context.Request.Path}: only {allowed} is allowed.", StatusCodes.Status405MethodNotAllowed);
    }

    /// <summary>A failure as a <c>google.rpc.Status</c> JSON, as the UI's API answers them.</summary>
    internal static async Task WriteStatusAsync(HttpContext context, StatusCode code, string message, int? httpStatus = null)
    {
        context.Response.StatusCode = httpStatus ?? HttpStatusMapping.For(code);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        UiBundle.SetSecurityHeaders(context.Response);
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteNumber("code", (int)code);
        json.WriteString("message", message);
        json.WriteStartArray("details");
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
