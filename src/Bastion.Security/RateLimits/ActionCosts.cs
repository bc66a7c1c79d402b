using System.Collections.Frozen;
using Google.Protobuf;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Security.RateLimits;

/// <summary>
/// What a call costs a namespace in actions, after Temporal Cloud's list of billable actions, as far as a call shows
/// them: a workflow started (a start, a signal-with-start's start, a continue-as-new, a child), a signal, a query, an
/// update, a reset, a timer started, a signal sent to another workflow, search attributes upserted, a local activity
/// (its marker), a Nexus operation scheduled, a heartbeat, an activity started (charged when a poll or an eager start
/// hands its task out). Work the server does on its own (a timer firing, a retry, a schedule's action) is not charged:
/// the limit governs what callers ask for.
/// </summary>
public static class ActionCosts
{
    private static readonly FrozenDictionary<string, int> s_before = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["StartWorkflowExecution"] = 1,
        ["SignalWithStartWorkflowExecution"] = 2,
        ["SignalWorkflowExecution"] = 1,
        ["QueryWorkflow"] = 1,
        ["UpdateWorkflowExecution"] = 1,
        ["ResetWorkflowExecution"] = 1,
        ["CreateSchedule"] = 1,
        ["PatchSchedule"] = 1,
        ["StartBatchOperation"] = 1,
        ["RecordActivityTaskHeartbeat"] = 1,
        ["RecordActivityTaskHeartbeatById"] = 1,
        ["StartActivityExecution"] = 1,
        ["StartNexusOperationExecution"] = 1,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// A worker reporting work it has done: never refused by a limit (refusing would waste the work and the task would
    /// time out and run again), only charged, so that the namespace's next requests wait for the balance.
    /// </summary>
    private static readonly FrozenSet<string> s_workerReports = new[]
    {
        "RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed", "RespondQueryTaskCompleted",
        "RespondActivityTaskCompleted", "RespondActivityTaskCompletedById", "RespondActivityTaskFailed",
        "RespondActivityTaskFailedById", "RespondActivityTaskCanceled", "RespondActivityTaskCanceledById",
        "RecordActivityTaskHeartbeat", "RecordActivityTaskHeartbeatById", "RespondNexusTaskCompleted",
        "RespondNexusTaskFailed", "ShutdownWorker", "RecordWorkerHeartbeat",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The task-queue long polls, counted against the namespace's concurrent long polls.</summary>
    private static readonly FrozenSet<string> s_taskQueuePolls = new[]
    {
        "PollWorkflowTaskQueue", "PollActivityTaskQueue", "PollNexusTaskQueue",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsWorkerReport(string method) => s_workerReports.Contains(method);

    public static bool IsTaskQueuePoll(string method) => s_taskQueuePolls.Contains(method);

    /// <summary>The actions a request asks for, known before it runs.</summary>
    public static int Before(string method, IMessage request) => request switch
    {
        ExecuteMultiOperationRequest multi => multi.Operations.Count,
        RespondWorkflowTaskCompletedRequest completed => CommandActions(completed),
        _ => s_before.GetValueOrDefault(method),
    };

    /// <summary>The actions a response shows were taken (activity tasks handed out).</summary>
    public static int After(IMessage? response) => response switch
    {
        PollActivityTaskQueueResponse poll when !poll.TaskToken.IsEmpty => 1,
        RespondWorkflowTaskCompletedResponse completed => completed.ActivityTasks.Count,
        _ => 0,
    };

    private static int CommandActions(RespondWorkflowTaskCompletedRequest request)
    {
        var actions = 0;
        foreach (var command in request.Commands)
        {
            actions += command.CommandType switch
            {
                CommandType.StartTimer or CommandType.StartChildWorkflowExecution or CommandType.SignalExternalWorkflowExecution
                    or CommandType.UpsertWorkflowSearchAttributes or CommandType.RecordMarker or CommandType.ContinueAsNewWorkflowExecution
                    or CommandType.ScheduleNexusOperation => 1,
                _ => 0,
            };
        }

        return actions;
    }
}
