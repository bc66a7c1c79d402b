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
    public static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress ip, int port, ListenerTls? tls) =>
        Listen(kestrel, ip, port, tls, ConnectionMark);

    /// <summary>An HTTP/1.1 (and HTTP/2 with TLS) listener whose connections carry <paramref name="mark"/>, for <see cref="IsMarked"/>.</summary>
    internal static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress ip, int port, ListenerTls? tls, string mark)
    {
        ListenOptions? options = null;
        kestrel.Listen(ip, port, listen =>
        {
            // HTTP/1.1 only while plaintext: HTTP/2 needs TLS (ALPN) for browsers and curl, and Kestrel warns otherwise.
            listen.Protocols = tls is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
            tls?.Apply(listen);
            listen.Use(next => connection =>
            {
                connection.Items[mark] = true;
                return next(connection);
            });
            options = listen;
        });
        return options!;
    }

    /// <summary>Serves the HTTP API for WorkflowService and OperatorService through the same security pipeline as gRPC.</summary>
    public static void MapHttpApi(this WebApplication app)
    {
        var api = CreateApi(app.Services, payloadShorthand: true);
        app.UseWhen(context => IsMarked(context, ConnectionMark), branch => branch.Run(api.HandleAsync));
    }

    /// <summary>The HTTP API over the services Bastion serves, through the security pipeline.</summary>
    internal static HttpApi CreateApi(IServiceProvider services, bool payloadShorthand) => new(
        services.GetRequiredService<SecurityPipeline>(),
        [
            new HttpApiService(GrpcServiceDescriptors.WorkflowService, typeof(WorkflowServiceHandler)),
            new HttpApiService(GrpcServiceDescriptors.OperatorService, typeof(OperatorServiceHandler)),
            new HttpApiService(GrpcServiceDescriptors.CloudService, typeof(CloudServiceHandler)),
        ],
        services.GetRequiredService<ILogger<HttpApi>>(),
        payloadShorthand);

    /// <summary>Whether the request came on a connection of the listener that <see cref="Listen(KestrelServerOptions, IPAddress, int, ListenerTls?, string)"/> marked so.</summary>
    internal static bool IsMarked(HttpContext context, string mark) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(mark) == true;
}
