using System.Net;
using System.Text.Json;
using Bastion.Security.Pipeline;
using Bastion.Security.Sessions;
using Bastion.Server.Tls;
using Bastion.Wire.Http;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Bastion.Server.Ui;

/// <summary>
/// The web UI's listener (<see cref="ServerOptions.UiPort"/>): the bundle (<see cref="UiBundle"/>), its settings at
/// <c>GET /api/v1/settings</c>, and the HTTP API under <c>/api/</c> (Temporal's pages) and <c>/cloud/</c> (the Cloud Ops
/// API, for the account pages) on the same origin, without the payload shorthand because the UI decodes payloads
/// itself. API calls pass the same security pipeline as gRPC and the HTTP API, marked
/// <see cref="ViaUi"/> (audited <c>"via": "ui"</c>): in start-dev as the local caller, under <c>server start</c> as the
/// signed-in session's principal (<see cref="UiSignIn"/>).
/// </summary>
internal static class UiHosting
{
    private const string ConnectionMark = "bastion.ui";
    private const string SettingsPath = "/api/v1/settings";
    private const string CallerTypeHeader = "Caller-Type"; // Temporal's UI sends it on every API call

    public static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress ip, int port, ListenerTls? tls) =>
        HttpApiHosting.Listen(kestrel, ip, port, tls, ConnectionMark);

    /// <param name="signIn">Null in start-dev (no sign-in: the local caller); else every API call needs a session.</param>
    public static void MapUi(this WebApplication app, UiSettings settings, UiSignIn? signIn)
    {
        var api = HttpApiHosting.CreateApi(app.Services, payloadShorthand: false);
        var bundle = UiBundle.Embedded;
        var settingsJson = JsonSerializer.SerializeToUtf8Bytes(settings, UiSettingsJson.Default.UiSettings);
        app.UseWhen(
            context => HttpApiHosting.IsMarked(context, ConnectionMark),
            branch => branch.Run(context =>
            {
                var path = context.Request.Path;
                if (path.Equals(SettingsPath, StringComparison.Ordinal) && HttpMethods.IsGet(context.Request.Method))
                {
                    return WriteSettingsAsync(context, settingsJson);
                }

                if (signIn?.TryServe(context) is { } served)
                {
                    return served;
                }

                if (!IsApi(path))
                {
                    return bundle.ServeAsync(context);
                }

                return signIn is null ? ServeDevAsync(context, api) : ServeSignedInAsync(context, api, signIn);
            }));
    }

    /// <summary>Start-dev: the local caller, once the request is shown to come from the UI on this machine.</summary>
    private static Task ServeDevAsync(HttpContext context, HttpApi api)
    {
        context.Features.Set(new ViaUi(null));
        return RefusalOf(context.Request) is { } refusal ? api.RefuseAsync(context, StatusCode.PermissionDenied, refusal) : api.HandleAsync(context);
    }

    /// <summary>
    /// Server start: the call runs as the session's principal (<see cref="UiSessionAuthenticator"/>). Without a live
    /// session it is UNAUTHENTICATED (401: the UI goes to its sign-in page); a write must carry the session's CSRF token,
    /// which only the UI's own pages can read from its cookie, else it is PERMISSION_DENIED.
    /// </summary>
    private static Task ServeSignedInAsync(HttpContext context, HttpApi api, UiSignIn signIn)
    {
        context.Features.Set(new ViaUi(null)); // a refusal below is recorded via the UI, as nobody in particular
        if (signIn.SessionOf(context.Request) is not { } session)
        {
            return api.RefuseAsync(context, StatusCode.Unauthenticated, "Not signed in to the web UI, or the session ended: sign in again.");
        }

        if (!IsRead(context.Request) && !session.CsrfMatches(context.Request.Headers[UiSessionCookies.CsrfHeader]))
        {
            return api.RefuseAsync(
                context,
                StatusCode.PermissionDenied,
                $"A write on the web UI's API must carry the session's CSRF token in the {UiSessionCookies.CsrfHeader} header; it is missing or wrong.");
        }

        context.Features.Set(new ViaUi(session));
        return api.HandleAsync(context);
    }

    /// <summary>The API's paths on this origin: one route table (<see cref="HttpApi"/>) serves both prefixes.</summary>
    private static bool IsApi(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.Ordinal) || path.StartsWithSegments("/cloud", StringComparison.Ordinal);

    private static bool IsRead(HttpRequest request) => HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);

    /// <summary>
    /// Why an API request on the UI's origin is refused, or null. The UI's calls run as the caller of the browser they
    /// come from (in start-dev: anyone on this machine), so other web sites must not make them: a host name that is
    /// not an address or <c>localhost</c> is DNS rebinding (an attacker's name resolving to this machine), and a write
    /// without the UI's <c>Caller-Type</c> header may be a cross-site form or "simple" request (a real cross-site call
    /// with that header needs a CORS preflight, which this origin never grants).
    /// </summary>
    internal static string? RefusalOf(HttpRequest request)
    {
        var host = request.Host.Host;
        if (!IPAddress.TryParse(host.Trim('[', ']'), out _) && !string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return $"The web UI's API answers on its address (or localhost), not on the host name {host}.";
        }

        return !IsRead(request) && !request.Headers.ContainsKey(CallerTypeHeader)
            ? $"A write on the web UI's API must come from the UI: the {CallerTypeHeader} header is missing."
            : null;
    }

    private static async Task WriteSettingsAsync(HttpContext context, byte[] json)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        UiBundle.SetSecurityHeaders(context.Response);
        await context.Response.Body.WriteAsync(json, context.RequestAborted);
    }
}
