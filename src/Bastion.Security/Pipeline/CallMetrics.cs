using System.Diagnostics;
using Bastion.Engine.Namespaces;
using Bastion.Storage.Telemetry;
using Grpc.Core;

namespace Bastion.Security.Pipeline;

/// <summary>
/// Temporal's per-call metrics for every call the pipeline serves (gRPC and the HTTP API): <c>service_requests</c>,
/// <c>service_latency</c>, <c>service_errors</c> and <c>service_error_with_type</c>, by <c>operation</c> and
/// <c>namespace</c> — only a namespace that exists, so a caller cannot mint label values.
/// </summary>
internal static class CallMetrics
{
    private static readonly string[] s_statusNames = [.. Enumerable.Range(0, 17).Select(code => ((StatusCode)code).ToString())];

    public static long Start()
    {
        ServerMetrics.ServicePendingRequests.Add(1);
        return Stopwatch.GetTimestamp();
    }

    public static void End(long started, string method, NamespaceEntry? ns, StatusCode outcome)
    {
        ServerMetrics.ServicePendingRequests.Add(-1);
        var tags = new TagList { { "operation", method }, { "namespace", ns?.FullName ?? ServerMetrics.Unknown } };
        ServerMetrics.ServiceRequests.Add(1, tags);
        ServerMetrics.ServiceLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        if (outcome != StatusCode.OK)
        {
            ServerMetrics.ServiceErrors.Add(1, tags);
            tags.Add("error_type", (int)outcome < s_statusNames.Length ? s_statusNames[(int)outcome] : ServerMetrics.Unknown);
            ServerMetrics.ServiceErrorWithType.Add(1, tags);
        }
    }
}
