using Bastion.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Bastion.Server;

/// <summary>
/// <c>grpc.health.v1.Health</c> on the gRPC listener, as Temporal's frontend serves it: the overall status ("") and
/// one per service served here, by full name (the SDKs' <c>CheckHealthAsync</c> asks for WorkflowService); another
/// name is NOT_FOUND. SERVING while the server runs, NOT_SERVING once it is stopping (as Temporal's handlers set it
/// on stop). Checked on each request, not cached. The security pipeline answers these to anyone
/// (<c>MethodClassification.IsHealthProbe</c>).
/// </summary>
internal static class GrpcHealth
{
    public static void AddTo(IServiceCollection services) =>
        services.AddGrpcHealthChecks(options =>
            {
                options.Services.Map(string.Empty, _ => true);
                foreach (var service in GrpcServiceDescriptors.All)
                {
                    options.Services.Map(service.FullName, _ => true);
                }
            })
            .AddCheck<ServingCheck>("serving");

    public static void Map(WebApplication app) => app.MapGrpcHealthChecksService();

    /// <summary>Healthy until the host begins to stop (a health service with no check at all answers UNKNOWN).</summary>
    private sealed class ServingCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("The server is stopping.")
                : HealthCheckResult.Healthy());
    }
}
