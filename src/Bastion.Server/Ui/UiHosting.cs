using System.Net;
using System.Text.Json;
using Bastion.Server.Tls;
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

                return path.StartsWithSegments("/api", StringComparison.Ordinal) ? api.HandleAsync(context) : bundle.ServeAsync(context);
            }));
    }

    private static async Task WriteSettingsAsync(HttpContext context, byte[] json)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        UiBundle.SetSecurityHeaders(context.Response);
        await context.Response.Body.WriteAsync(json, context.RequestAborted);
    }
}
