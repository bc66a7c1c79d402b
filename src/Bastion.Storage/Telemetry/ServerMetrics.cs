using System.Diagnostics.Metrics;

namespace Bastion.Storage.Telemetry;

/// <summary>
/// The one list of Bastion's metric instruments (as Temporal's <c>metric_defs.go</c>), created once per process and
/// exported for Prometheus by the server's metrics listener (<c>--metrics-port</c>). Names and labels are Temporal's
/// where Temporal has the metric, so its dashboards and alerts work; Bastion's own start with <c>bastion_</c>.
/// Latencies are histograms in seconds (Temporal's timers, without a unit suffix: <c>service_latency_bucket</c>).
/// With no listener (no metrics port) recording costs a flag check; callers pass labels in a <c>TagList</c> (no
/// allocation for up to eight).
/// </summary>
/// <remarks>Gauges that read a server's state (backlog, shards, sessions) are observed per server: <c>ServerGauges</c>.</remarks>
public static class ServerMetrics
{
    /// <summary>The meter's name: what the exporter listens to.</summary>
    public const string MeterName = "Bastion";

    /// <summary>Temporal's value for a label that is not known (a call that named no namespace, or one that does not exist).</summary>
    public const string Unknown = "_unknown_";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>Seconds, from a millisecond to a minute (long polls end near 60 s).</summary>
    private static readonly InstrumentAdvice<double> s_latency = new()
    {
        HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90],
    };

    private static readonly InstrumentAdvice<long> s_batchSize = new()
    {
        HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    };

    /// <summary>Requests received, by <c>operation</c> (the RPC) and <c>namespace</c>.</summary>
    public static readonly Counter<long> ServiceRequests = s_meter.CreateCounter<long>("service_requests", description: "RPC requests received, by operation and namespace.");

    /// <summary>Requests that failed, by <c>operation</c> and <c>namespace</c>.</summary>
    public static readonly Counter<long> ServiceErrors = s_meter.CreateCounter<long>("service_errors", description: "RPC requests that failed.");

    /// <summary>Requests that failed, by <c>operation</c>, <c>namespace</c> and <c>error_type</c> (the gRPC status name).</summary>
    public static readonly Counter<long> ServiceErrorWithType = s_meter.CreateCounter<long>("service_error_with_type", description: "RPC requests that failed, by gRPC status.");

    /// <summary>Time from a request's arrival to its answer, long polls included, by <c>operation</c> and <c>namespace</c>.</summary>
    public static readonly Histogram<double> ServiceLatency = s_meter.CreateHistogram("service_latency", unit: null, description: "RPC latency in seconds.", tags: null, advice: s_latency);

    /// <summary>Requests being served now.</summary>
    public static readonly UpDownCounter<long> ServicePendingRequests = s_meter.CreateUpDownCounter<long>("service_pending_requests", description: "RPC requests in progress.");

    /// <summary>Requests refused by a namespace's rate limit, by <c>namespace</c>.</summary>
    public static readonly Counter<long> RateLimitRejections = s_meter.CreateCounter<long>("bastion_rate_limit_rejections", description: "Requests refused with RESOURCE_EXHAUSTED by a namespace's rate limit.");

    /// <summary>
    /// Calls a cluster node routed, by <c>target</c> (<c>shard</c> or <c>queue</c>) and <c>route</c> (<c>local</c>: this node owns
    /// it; <c>forwarded</c>: sent to the owner), one per attempt; calls that address neither are not counted.
    /// </summary>
    public static readonly Counter<long> ClusterRoutedCalls = s_meter.CreateCounter<long>("bastion_cluster_routed_calls", description: "Calls a cluster node ran here or forwarded to the owner of what they address.");

    /// <summary>Store operations, by <c>operation</c> (<c>GroupCommit</c>: one transaction of the group committer).</summary>
    public static readonly Counter<long> PersistenceRequests = s_meter.CreateCounter<long>("persistence_requests", description: "Store operations.");

    /// <summary>Store operations that failed, by <c>operation</c>.</summary>
    public static readonly Counter<long> PersistenceErrors = s_meter.CreateCounter<long>("persistence_errors", description: "Store operations that failed.");

    /// <summary>Store latency, by <c>operation</c>; for <c>GroupCommit</c> the whole transaction with its fsync.</summary>
    public static readonly Histogram<double> PersistenceLatency = s_meter.CreateHistogram("persistence_latency", unit: null, description: "Store latency in seconds (GroupCommit: the transaction and its fsync).", tags: null, advice: s_latency);

    /// <summary>Transitions and audit records in one group-commit transaction.</summary>
    public static readonly Histogram<long> GroupCommitBatchSize = s_meter.CreateHistogram("bastion_group_commit_batch_size", unit: null, description: "Writes (transitions and audit records) per group-commit transaction.", tags: null, advice: s_batchSize);

    /// <summary>Long polls that got a task, by <c>namespace</c>, <c>taskqueue</c> and <c>task_type</c>.</summary>
    public static readonly Counter<long> PollSuccess = s_meter.CreateCounter<long>("poll_success", description: "Long polls answered with a task.");

    /// <summary>Long polls that ended empty, by <c>namespace</c>, <c>taskqueue</c> and <c>task_type</c>.</summary>
    public static readonly Counter<long> PollTimeouts = s_meter.CreateCounter<long>("poll_timeouts", description: "Long polls that ended without a task.");

    /// <summary>Activities started eagerly, in their workflow task's completion (never polled), by <c>namespace</c> and <c>taskqueue</c>.</summary>
    public static readonly Counter<long> ActivityEagerExecution = s_meter.CreateCounter<long>("activity_eager_execution", description: "Activities started in their workflow task's completion and returned in its response.");

    /// <summary>Workflow tasks started for a waiting poll in the commit that scheduled them (<c>bastion.workflowTaskSyncStart</c>), by <c>namespace</c> and <c>taskqueue</c>.</summary>
    public static readonly Counter<long> WorkflowTaskSyncStart = s_meter.CreateCounter<long>("bastion_workflow_task_sync_start", description: "Workflow tasks started for a waiting poll in the commit that scheduled them.");

    /// <summary>From a task's scheduling to its start by a poller, by <c>namespace</c>, <c>taskqueue</c> and <c>task_type</c>.</summary>
    public static readonly Histogram<double> TaskScheduleToStartLatency = s_meter.CreateHistogram("task_schedule_to_start_latency", unit: null, description: "Schedule-to-start latency of tasks in seconds.", tags: null, advice: s_latency);

    /// <summary>Workflow runs that completed, by <c>namespace</c> (and so on for the other outcomes below).</summary>
    public static readonly Counter<long> WorkflowSuccess = s_meter.CreateCounter<long>("workflow_success", description: "Workflow runs completed.");

    public static readonly Counter<long> WorkflowFailed = s_meter.CreateCounter<long>("workflow_failed", description: "Workflow runs failed.");

    public static readonly Counter<long> WorkflowTimeout = s_meter.CreateCounter<long>("workflow_timeout", description: "Workflow runs timed out.");

    public static readonly Counter<long> WorkflowTerminate = s_meter.CreateCounter<long>("workflow_terminate", description: "Workflow runs terminated.");

    public static readonly Counter<long> WorkflowCancel = s_meter.CreateCounter<long>("workflow_cancel", description: "Workflow runs canceled.");

    /// <summary>Rows of deleted namespaces removed by the background purge (<c>NamespacePurger</c>).</summary>
    public static readonly Counter<long> NamespacePurgedRows = s_meter.CreateCounter<long>("bastion_namespace_purged_rows", description: "Rows of deleted namespaces removed by the background purge.");

    public static readonly Counter<long> WorkflowContinuedAsNew = s_meter.CreateCounter<long>("workflow_continued_as_new", description: "Workflow runs continued as new.");
}
