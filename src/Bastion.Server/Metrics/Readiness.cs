using System.Text.Json;
using Bastion.Engine.History;
using Bastion.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Bastion.Server.Metrics;

/// <summary>
/// <c>/healthz</c> (the process is alive and serving HTTP) and <c>/readyz</c> (it should get traffic: the store answers
/// a read within two seconds, the shards it must serve are owned — all of them when standalone, and migrations ran,
/// which every start does before it listens), on the metrics listener. 200 or 503 with the checks as JSON. Not ready
/// once the server is stopping, so a load balancer drains it first.
/// </summary>
internal sealed class Readiness(IStorageProvider store, HistoryEngine engine, IHostApplicationLifetime lifetime, bool clustered)
{
    private static readonly TimeSpan s_storeTimeout = TimeSpan.FromSeconds(2);

    public async Task HandleAsync(HttpContext context)
    {
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                await WriteAsync(context, ok: true, new Dictionary<string, string> { ["process"] = "alive" }).ConfigureAwait(false);
                return;
            case "/readyz":
                var checks = new Dictionary<string, string>(StringComparer.Ordinal);
                var ok = await CheckStoreAsync(checks, context.RequestAborted).ConfigureAwait(false);
                ok &= CheckShards(checks);
                checks["migrations"] = "done";
                if (lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    checks["server"] = "stopping";
                    ok = false;
                }

                await WriteAsync(context, ok, checks).ConfigureAwait(false);
                return;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound; // the metrics listener serves these and /metrics only
                return;
        }
    }

    private async Task<bool> CheckStoreAsync(Dictionary<string, string> checks, CancellationToken aborted)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(s_storeTimeout);
        try
        {
            await store.Metadata.ReadClusterSettingAsync("cluster_id", timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
            checks["store"] = "reachable";
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            checks["store"] = e is OperationCanceledException ? "no answer within 2 s" : "unreachable"; // the cause may name hosts or users: not here
            return false;
        }
    }

    private bool CheckShards(Dictionary<string, string> checks)
    {
        var owned = ServerGauges.OwnedShards(engine);
        checks["shards"] = $"{owned}/{engine.ShardCount} owned";
        return clustered || owned == engine.ShardCount; // a node of a cluster serves whatever the others leave it
    }

    private static async Task WriteAsync(HttpContext context, bool ok, Dictionary<string, string> checks)
    {
        context.Response.StatusCode = ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object> { ["status"] = ok ? "ok" : "unavailable", ["checks"] = checks }, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }
}
