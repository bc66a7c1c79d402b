using Microsoft.AspNetCore.Http;

namespace Bastion.Server.Ui;

/// <summary>
/// The two cookies of a web UI session. The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other
/// site's page sends it) and, over TLS, Secure with the <c>__Host-</c> prefix (the browser takes it only from this
/// host, for every path, so no subdomain can plant one). The CSRF cookie <c>_csrf</c> is the one Temporal's UI reads
/// and echoes in the <c>X-CSRF-TOKEN</c> header of every request (<c>requestFromAPI</c>), so it is readable by script;
/// the server checks the header against the session, and another site can neither read the cookie nor set the header.
/// </summary>
internal sealed class UiSessionCookies(bool secure)
{
    public const string CsrfCookie = "_csrf";
    public const string CsrfHeader = "X-CSRF-TOKEN";

    public string SessionCookie { get; } = secure ? "__Host-bastion-session" : "bastion-session";

    /// <summary>The session id the request's cookie carries, if any.</summary>
    public string? SessionId(HttpRequest request) => request.Cookies[SessionCookie];

    public void Issue(HttpResponse response, string sessionId, string csrfToken)
    {
        response.Cookies.Append(SessionCookie, sessionId, Options(httpOnly: true));
        response.Cookies.Append(CsrfCookie, csrfToken, Options(httpOnly: false));
    }

    public void Clear(HttpResponse response)
    {
        response.Cookies.Delete(SessionCookie, Options(httpOnly: true));
        response.Cookies.Delete(CsrfCookie, Options(httpOnly: false));
    }

    // No expiry: the browser forgets them when it closes; the server ends the session by its own timeouts anyway.
    private CookieOptions Options(bool httpOnly) => new()
    {
        HttpOnly = httpOnly,
        Secure = secure,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        IsEssential = true,
    };
}
