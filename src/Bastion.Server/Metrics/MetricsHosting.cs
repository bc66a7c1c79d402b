using System.Net;
using Bastion.Server.Tls;
using Bastion.Storage.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Bastion.Server.Metrics;

/// <summary>
/// The metrics listener (<see cref="ServerOptions.MetricsPort"/>): <c>/metrics</c> for Prometheus (OpenTelemetry's
/// exporter over <see cref="ServerMetrics"/> and <see cref="ServerGauges"/>), <c>/healthz</c> and <c>/readyz</c>
/// (<see cref="Readiness"/>); nothing else, and none of these on the other listeners. TLS like every listener when the
/// server has a certificate; it is unauthenticated, so it carries no payloads, only names and counts.
/// </summary>
internal static class MetricsHosting
{
    private const string ConnectionMark = "bastion.metrics";

    public static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress ip, int port, ListenerTls? tls) =>
        HttpApiHosting.Listen(kestrel, ip, port, tls, ConnectionMark);

    public static void AddTo(IServiceCollection services) =>
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ServerMetrics.MeterName)
            .AddPrometheusExporter(o =>
            {
                o.DisableTotalNameSuffixForCounters = true; // Temporal's names: service_requests, not service_requests_total
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));

    public static void Map(WebApplication app, Readiness readiness)
    {
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => HttpApiHosting.IsMarked(context, ConnectionMark) && context.Request.Path == "/metrics",
            path: null,
            configureBranchedPipeline: null,
            optionsName: null);
        app.UseWhen(context => HttpApiHosting.IsMarked(context, ConnectionMark), branch => branch.Run(readiness.HandleAsync));
    }
}
