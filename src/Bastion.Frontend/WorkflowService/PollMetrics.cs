using System.Diagnostics;
using Bastion.Engine.Matching;
using Bastion.Storage.Telemetry;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// Temporal's long-poll metrics: <c>poll_success</c> (with <c>task_schedule_to_start_latency</c>, from the task's
/// scheduled time to its start in the answer) or <c>poll_timeouts</c>, by <c>namespace</c>, <c>taskqueue</c> and
/// <c>task_type</c>. Sticky queues (one per worker) share the label <c>__sticky__</c>, as in Temporal.
/// </summary>
internal static class PollMetrics
{
    private const string StickyLabel = "__sticky__";

    public static void Record(string ns, QueueKey queue, TaskQueueKind kind, Timestamp? scheduled, Timestamp? started)
    {
        var tags = new TagList
        {
            { "namespace", ns },
            { "taskqueue", kind == TaskQueueKind.Sticky ? StickyLabel : queue.Name },
            { "task_type", queue.Type == TaskCategory.Workflow ? "Workflow" : "Activity" },
        };
        if (started is null)
        {
            ServerMetrics.PollTimeouts.Add(1, tags);
            return;
        }

        ServerMetrics.PollSuccess.Add(1, tags);
        if (scheduled is not null)
        {
            ServerMetrics.TaskScheduleToStartLatency.Record((started.ToDateTime() - scheduled.ToDateTime()).TotalSeconds, tags);
        }
    }
}
