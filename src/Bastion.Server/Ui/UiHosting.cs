using System.Net;
using System.Text.Json;
using Bastion.Server.Tls;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Bastion.Server.Ui;

/// <summary>
/// The web UI's listener (<see cref="ServerOptions.UiPort"/>): the bundle (<see cref="UiBundle"/>), its settings at
/// <c>GET /api/v1/settings</c>, and the HTTP API under <c>/api/</c> on the same origin, without the payload shorthand
/// because the UI decodes payloads itself. API calls pass the same security pipeline as gRPC and the HTTP API.
/// </summary>
internal static class UiHosting
{
    private const string ConnectionMark = "bastion.ui";
    private const string SettingsPath = "/api/v1/settings";
    private const string CallerTypeHeader = "Caller-Type"; // Temporal's UI sends it on every API call

    public static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress ip, int port, ListenerTls? tls) =>
        HttpApiHosting.Listen(kestrel, ip, port, tls, ConnectionMark);

    public static void MapUi(this WebApplication app, UiSettings settings)
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

                if (!path.StartsWithSegments("/api", StringComparison.Ordinal))
                {
                    return bundle.ServeAsync(context);
                }

                return RefusalOf(context.Request) is { } refusal ? api.RefuseAsync(context, StatusCode.PermissionDenied, refusal) : api.HandleAsync(context);
            }));
    }

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

        var write = !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method);
        return write && !request.Headers.ContainsKey(CallerTypeHeader)
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
