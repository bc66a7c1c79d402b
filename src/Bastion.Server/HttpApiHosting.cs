using System.Net;
using Bastion.Frontend.CloudService;
using Bastion.Frontend.OperatorService;
using Bastion.Frontend.WorkflowService;
using Bastion.Security.Pipeline;
using Bastion.Server.Tls;
using Bastion.Wire;
using Bastion.Wire.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>
/// The HTTP API's listener and its place in the request pipeline. Its connections are marked when accepted, and
/// every request on a marked connection goes to <see cref="HttpApi"/>; requests on the gRPC listener never do,
/// and gRPC is not served on the HTTP listener.
/// </summary>
internal static class HttpApiHosting
{
    private const string ConnectionMark = "bastion.http-api";

    /// <summary>Adds the HTTP API listener (HTTPS when <paramref name="tls"/> is given) and returns it, to learn its port once bound.</summary>
    public static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress ip, int port, ListenerTls? tls)
    {
        ListenOptions? options = null;
        kestrel.Listen(ip, port, listen =>
        {
            // HTTP/1.1 only while plaintext: HTTP/2 needs TLS (ALPN) for browsers and curl, and Kestrel warns otherwise.
            listen.Protocols = tls is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
            tls?.Apply(listen);
            listen.Use(next => connection =>
            {
                connection.Items[ConnectionMark] = true;
                return next(connection);
            });
            options = listen;
        });
        return options!;
    }

    /// <summary>Serves the HTTP API for WorkflowService and OperatorService through the same security pipeline as gRPC.</summary>
    public static void MapHttpApi(this WebApplication app)
    {
        var api = new HttpApi(
            app.Services.GetRequiredService<SecurityPipeline>(),
            [
                new HttpApiService(GrpcServiceDescriptors.WorkflowService, typeof(WorkflowServiceHandler)),
                new HttpApiService(GrpcServiceDescriptors.OperatorService, typeof(OperatorServiceHandler)),
                new HttpApiService(GrpcServiceDescriptors.CloudService, typeof(CloudServiceHandler)),
            ],
            app.Services.GetRequiredService<ILogger<HttpApi>>());
        app.UseWhen(IsHttpApiConnection, branch => branch.Run(api.HandleAsync));
    }

    private static bool IsHttpApiConnection(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionMark) == true;
}
