using System.Diagnostics.Metrics;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Bastion.Engine.Namespaces;
using Bastion.Security.Sessions;
using Bastion.Security.Tls;
using Bastion.Storage.Telemetry;

namespace Bastion.Server.Metrics;

/// <summary>
/// The gauges that read one server's state when scraped (nothing is kept up to date between scrapes): Temporal's
/// <c>approximate_backlog_count</c> and <c>numshards_gauge</c>, and Bastion's <c>bastion_ui_sessions</c>,
/// <c>bastion_audit_export_lag_seconds</c> (per sink), <c>bastion_cluster_clock_skew_seconds</c> and <c>bastion_namespace_ca_expiry_timestamp_seconds</c> (per
/// namespace with a CA bundle: when its first CA expires, Unix seconds). On a meter of the server's own, gone with it.
/// </summary>
internal sealed class ServerGauges : IDisposable
{
    private readonly Meter _meter = new(ServerMetrics.MeterName);
    private readonly Dictionary<string, double?> _caExpiry = new(StringComparer.Ordinal); // by bundle PEM: parsed once

    public ServerGauges(HistoryEngine engine, NamespaceRegistry namespaces, UiSessions sessions, AuditHosting audit, TimeProvider time)
    {
        _meter.CreateObservableGauge("approximate_backlog_count", () => Backlogs(engine, namespaces), description: "Tasks waiting in a task queue.");
        _meter.CreateObservableGauge("numshards_gauge", () => OwnedShards(engine), description: "History shards this node owns.");
        _meter.CreateObservableGauge("bastion_ui_sessions", () => sessions.Count, description: "Web UI sessions open.");
        _meter.CreateObservableGauge(
            "bastion_audit_export_lag_seconds",
            () => audit.Exporters.Select(e => new Measurement<double>(e.Lag(time.GetUtcNow().UtcDateTime).TotalSeconds, new KeyValuePair<string, object?>("sink", e.Name))),
            description: "Age of the oldest audit record an export sink has not received yet (0 when caught up).");
        _meter.CreateObservableGauge(
            "bastion_cluster_clock_skew_seconds",
            () => engine.Routing.Membership.ClockSkew is { } skew ? [new Measurement<double>(skew.TotalSeconds)] : Array.Empty<Measurement<double>>(),
            description: "This node's clock less the database's at its last cluster heartbeat (PostgreSQL clusters only).");
        _meter.CreateObservableGauge("bastion_namespace_ca_expiry_timestamp_seconds", () => CaExpiries(namespaces), description: "When the first CA of a namespace's client CA bundle expires (Unix seconds).");
    }

    /// <summary>Shards this node holds now (also <c>/readyz</c>'s check).</summary>
    public static int OwnedShards(HistoryEngine engine)
    {
        var owned = 0;
        for (var shard = 0; shard < engine.ShardCount; shard++)
        {
            owned += engine.OwnsShard(shard) ? 1 : 0;
        }

        return owned;
    }

    /// <summary>One measurement per task queue: its partitions on this node summed.</summary>
    private static IEnumerable<Measurement<int>> Backlogs(HistoryEngine engine, NamespaceRegistry namespaces)
    {
        foreach (var (queue, count) in engine.Matching.Backlogs().GroupBy(b => b.Queue.Root, b => b.Count).Select(g => (g.Key, g.Sum())))
        {
            yield return new Measurement<int>(
                count,
                new("namespace", namespaces.FindById(queue.NamespaceId)?.FullName ?? ServerMetrics.Unknown),
                new("taskqueue", queue.Name),
                new("task_type", queue.Type == TaskCategory.Workflow ? "Workflow" : "Activity"));
        }
    }

    private List<Measurement<double>> CaExpiries(NamespaceRegistry namespaces)
    {
        var measurements = new List<Measurement<double>>();
        lock (_caExpiry)
        {
            foreach (var entry in namespaces.All)
            {
                if (entry.Tls is not { } policy)
                {
                    continue;
                }

                if (!_caExpiry.TryGetValue(policy.CaBundlePem, out var expiry))
                {
                    expiry = FirstExpiry(policy.CaBundlePem);
                    _caExpiry[policy.CaBundlePem] = expiry;
                }

                if (expiry is { } seconds)
                {
                    measurements.Add(new Measurement<double>(seconds, new KeyValuePair<string, object?>("namespace", entry.FullName)));
                }
            }
        }

        return measurements;
    }

    private static double? FirstExpiry(string pem)
    {
        try
        {
            var certificates = ClientCaBundle.Parse(pem, DateTime.MinValue).Certificates;
            return certificates.Count == 0 ? null : certificates.Min(c => new DateTimeOffset(c.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        }
        catch (Engine.Errors.ServiceException)
        {
            return null; // a bundle that no longer parses is logged by the namespace refresher
        }
    }

    public void Dispose() => _meter.Dispose();
}
