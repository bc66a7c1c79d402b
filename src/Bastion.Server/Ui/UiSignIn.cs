using System.Text.Json;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Bastion.Security.Sessions;
using Bastion.Security.Sso;
using Bastion.Wire.Http;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bastion.Server.Ui;

/// <summary>
/// Sign-in and sign-out of the web UI under <c>server start</c>: <c>POST /auth/sign-in</c> takes an API key (JSON
/// <c>{"apiKey": …}</c>), checks it as every call's key is checked (<see cref="ApiKeyAuthenticator"/>) and starts a
/// session (<see cref="UiSessions"/>, cookies by <see cref="UiSessionCookies"/>); single sign-on
/// (<see cref="Sso.OidcSignIn"/>) ends in the same session through <see cref="CompleteSsoAsync"/>;
/// <c>POST /auth/sign-out</c> ends it; <c>GET /auth/session</c> says who is signed in; <c>GET /auth/methods</c> which
/// ways of signing in the sign-in page offers. Sign-ins, refused ones included (with the reason), sign-outs and
/// sessions that end otherwise (timed out, or what they were signed in with is gone) are audited
/// (<see cref="AuditKinds.UiSignIn"/>, <see cref="AuditKinds.UiSignOut"/>, <see cref="AuditKinds.UiSessionEnded"/>);
/// the key, token or assertion itself is never logged or recorded.
/// </summary>
internal sealed partial class UiSignIn
{
    public const string SignInPath = "/auth/sign-in";
    public const string SignOutPath = "/auth/sign-out";
    public const string SessionPath = "/auth/session";
    public const string MethodsPath = "/auth/methods";
    private const int MaxSignInBody = 4096;

    private readonly UiSessions _sessions;
    private readonly UiSessionCookies _cookies;
    private readonly ApiKeyAuthenticator _apiKeys;
    private readonly UiSessionAuthenticator _sessionPrincipals;
    private readonly SsoPolicy _sso;
    private readonly NamespaceRegistry _namespaces;
    private readonly IAuditSink _audit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public UiSignIn(
        UiSessions sessions,
        UiSessionCookies cookies,
        ApiKeyAuthenticator apiKeys,
        UiSessionAuthenticator sessionPrincipals,
        SsoPolicy sso,
        NamespaceRegistry namespaces,
        IAuditSink audit,
        TimeProvider time,
        ILoggerFactory loggers,
        string account)
    {
        Account = account;
        _sessions = sessions;
        _cookies = cookies;
        _apiKeys = apiKeys;
        _sessionPrincipals = sessionPrincipals;
        _sso = sso;
        _namespaces = namespaces;
        _audit = audit;
        _time = time;
        _logger = loggers.CreateLogger("Bastion.Ui");
        sessions.Ended += RecordEnded;
    }

    /// <summary>The account whose people sign in here.</summary>
    public string Account { get; }

    /// <summary>The OpenID Connect sign-in, when the server offers it.</summary>
    public Sso.OidcSignIn? Oidc { get; set; }

    /// <summary>The SAML 2.0 sign-in, when the server offers it.</summary>
    public Sso.SamlSignIn? Saml { get; set; }

    /// <summary>The live session the request's cookie names (now marked used), or null.</summary>
    public UiSession? SessionOf(HttpRequest request) => _sessions.Find(_cookies.SessionId(request));

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

        if (path.Equals(MethodsPath, StringComparison.Ordinal))
        {
            return HttpMethods.IsGet(method) ? MethodsAsync(context) : MethodNotAllowed(context, "GET");
        }

        return Oidc?.TryServe(context) ?? Saml?.TryServe(context);
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
            principal = await _apiKeys.AuthenticateAsync(key);
            _sso.CheckApiKeySignIn(principal);
        }
        catch (ServiceException e)
        {
            var refused = ErrorMapper.ToRpcException(e, callCanceled: false);
            if (await AuditAsync(context, AuditKinds.UiSignIn, "SignIn", null, refused.StatusCode, Details(UiSession.ApiKeyMethod, refused.Status.Detail)))
            {
                await WriteStatusAsync(context, refused.StatusCode, refused.Status.Detail);
            }

            return;
        }

        _sessions.End(_cookies.SessionId(context.Request)); // a sign-in replaces the browser's earlier session
        var (session, id, csrf) = _sessions.Create(principal);
        if (!await AuditAsync(context, AuditKinds.UiSignIn, "SignIn", principal, StatusCode.OK, Details(UiSession.ApiKeyMethod, null)))
        {
            _sessions.End(id); // unrecorded, there is no session
            return;
        }

        _cookies.Issue(context.Response, id, csrf);
        await WriteInfoAsync(context, principal, session);
    }

    /// <summary>
    /// Ends a single sign-on whose token or assertion was checked: the person becomes their Bastion user
    /// (<see cref="SsoPolicy.SignInAsync"/>), gets the same session an API-key sign-in gets, and the browser goes on to
    /// <paramref name="returnUrl"/>; refused, back to the sign-in page saying why. Audited either way.
    /// </summary>
    public async Task CompleteSsoAsync(HttpContext context, SsoIdentity who, string? returnUrl)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(who);
        var person = new Principal(PrincipalType.User, string.Empty, who.Email ?? string.Empty, AccountRole.None, Account);
        Principal principal;
        bool mfa;
        var previous = AuditActor.Current;
        AuditActor.Current = new AuditActor(nameof(PrincipalType.User), string.Empty, who.Email ?? string.Empty, "bastion.ui/SignIn", HttpPeer.Of(context));
        try
        {
            (principal, mfa) = await _sso.SignInAsync(Account, who); // a user created or regrouped is an account event of this actor
        }
        catch (ServiceException e)
        {
            var refused = ErrorMapper.ToRpcException(e, callCanceled: false);
            await RefuseSsoAsync(context, who.Method, "policy", refused.Status.Detail, person, refused.StatusCode, who.AuthMethods);
            return;
        }
        finally
        {
            AuditActor.Current = previous;
        }

        _sessions.End(_cookies.SessionId(context.Request));
        var (_, id, csrf) = _sessions.Create(principal, who.Method, mfa);
        var details = Details(who.Method, null);
        details["mfa"] = mfa ? "true" : "false";
        details["auth_methods"] = Clip(string.Join(" ", who.AuthMethods));
        if (!await AuditAsync(context, AuditKinds.UiSignIn, "SignIn", principal, StatusCode.OK, details))
        {
            _sessions.End(id);
            return;
        }

        _cookies.Issue(context.Response, id, csrf);
        context.Response.Redirect(SafeReturnUrl(returnUrl));
    }

    /// <summary>
    /// A refused single sign-on: audited with <paramref name="reason"/> (a short code) and <paramref name="message"/>
    /// (never the token or assertion), and the browser sent back to the sign-in page, which shows the message.
    /// </summary>
    public async Task RefuseSsoAsync(
        HttpContext context, string method, string reason, string message, Principal? person = null, StatusCode status = StatusCode.Unauthenticated, IEnumerable<string>? authMethods = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var details = Details(method, message);
        details["reason"] = reason;
        if (authMethods is not null)
        {
            details["auth_methods"] = Clip(string.Join(" ", authMethods));
        }

        if (await AuditAsync(context, AuditKinds.UiSignIn, "SignIn", person, status, details))
        {
            context.Response.Redirect("/login?error=" + Uri.EscapeDataString("Single sign-on refused: " + message));
        }
    }

    /// <summary>A path on this origin, never another site (open redirect) nor the sign-in page; else <c>/</c>.</summary>
    public static string SafeReturnUrl(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.StartsWith("/login", StringComparison.Ordinal)
            ? url
            : "/";

    private async Task MethodsAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        UiBundle.SetSecurityHeaders(context.Response);
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteBoolean("apiKey", true);
        json.WriteBoolean("peopleApiKey", _sso.PeopleApiKeySignIn(Account));
        json.WriteStartArray("sso");
        foreach (var (method, start, offered) in new[] { (UiSession.OidcMethod, Sso.OidcSignIn.StartPath, Oidc is not null), (UiSession.SamlMethod, Sso.SamlSignIn.StartPath, Saml is not null) })
        {
            if (offered && _sso.Enabled(Account, method) is not null)
            {
                json.WriteStartObject();
                json.WriteString("method", method);
                json.WriteString("start", start);
                json.WriteEndObject();
            }
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The record of a session that ended other than by sign-out, written off the flow that noticed it.</summary>
    private void RecordEnded(UiSession session, string reason)
    {
        var details = Details(session.Method, null);
        details["reason"] = reason;
        var record = Record(AuditKinds.UiSessionEnded, "SessionEnded", session.SignedInAs, StatusCode.OK, string.Empty, null, details);
        _ = Task.Run(async () =>
        {
            try
            {
                await _audit.WriteAsync(record, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogEndedNotRecorded(_logger, e);
            }
        });
    }

    private static Dictionary<string, string> Details(string method, string? refusal)
    {
        var details = new Dictionary<string, string>(StringComparer.Ordinal) { ["method"] = method };
        if (refusal is not null)
        {
            details["refusal"] = Clip(refusal);
        }

        return details;
    }

    /// <summary>What an identity provider sends is bounded before it goes into a record.</summary>
    private static string Clip(string text) => text.Length > 512 ? text[..512] : text;

    private async Task SignOutAsync(HttpContext context)
    {
        var id = _cookies.SessionId(context.Request);
        if (_sessions.Find(id) is { } session)
        {
            if (!session.CsrfMatches(context.Request.Headers[UiSessionCookies.CsrfHeader]))
            {
                await WriteStatusAsync(context, StatusCode.PermissionDenied, $"Signing out needs the session's CSRF token in the {UiSessionCookies.CsrfHeader} header.");
                return;
            }

            _sessions.End(id);
            await AuditAsync(context, AuditKinds.UiSignOut, "SignOut", session.SignedInAs, StatusCode.OK);
        }

        _cookies.Clear(context.Response);
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
                : await _sessionPrincipals.PrincipalOfAsync(session);
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
        var visible = _namespaces.All
            .Where(n => principal.Allows(Permission.NamespaceRead, n) && !principal.IsRefusedBy(n))
            .Select(n => new UiSessionInfo.NamespaceAccess(n.FullName, principal.Allows(Permission.NamespaceWrite, n), principal.Allows(Permission.NamespaceAdmin, n)))
            .ToList();
        var account = new UiSessionInfo.AccountAccess(
            principal.Allows(Permission.AccountMember, null),
            principal.Allows(Permission.AccountRead, null),
            principal.Allows(Permission.AccountAdmin, null),
            principal.Allows(Permission.NamespaceCreate, null));
        var info = new UiSessionInfo(principal.Name, principal.Type.ToString(), principal.Id, session.ApiKeyId ?? string.Empty, session.Method, account, visible);
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
    private async Task<bool> AuditAsync(HttpContext context, string kind, string operation, Principal? principal, StatusCode status, Dictionary<string, string>? details = null)
    {
        var record = Record(kind, operation, principal, status, HttpPeer.Of(context), context.Request.Headers["X-Forwarded-For"].FirstOrDefault(), details);
        try
        {
            await _audit.WriteAsync(record, CancellationToken.None); // not the request's token: a client that goes away does not take its record with it
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await WriteStatusAsync(context, StatusCode.Unavailable, "The sign-in could not be recorded in the audit log. Retry later.");
            return false;
        }
    }

    private AuditRecord Record(string kind, string operation, Principal? principal, StatusCode status, string peer, string? forwardedFor, Dictionary<string, string>? details) => new()
    {
        LogId = Guid.NewGuid().ToString(),
        Kind = kind,
        EmitTime = _time.GetUtcNow().UtcDateTime,
        Operation = "bastion.ui/" + operation,
        PrincipalType = principal?.Type.ToString() ?? "Anonymous",
        PrincipalId = principal?.Id ?? string.Empty,
        PrincipalName = principal?.Name ?? string.Empty,
        ApiKeyId = principal?.ApiKeyId,
        Account = principal?.Account ?? Account,
        Status = (int)status,
        Peer = peer,
        XForwardedFor = forwardedFor,
        Via = ViaUi.Name,
        Details = details ?? new Dictionary<string, string>(),
    };

    [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "A web UI session's end could not be recorded in the audit log.")]
    private static partial void LogEndedNotRecorded(ILogger logger, Exception exception);

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
