using Bastion.Engine.Matching;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Eager workflow start (<c>request_eager_execution</c>), as in Temporal: the new run's first workflow task is
/// started in the transition that creates the run, for the starter (the request's identity and request id), and
/// returned inline in the start response, so it never goes through matching; the started event records
/// <c>eager_execution_accepted</c>. Only a start that creates a run with no first-task backoff (start delay, cron)
/// is eager; a retried request gets the task again while it is still that first attempt; a start that uses the
/// existing run is not. Its start-to-close timeout runs as for any started task: if the starter never completes
/// it, the retry goes through matching.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Starts the new run's first workflow task for the starter (its started event is in the run's first batch).</summary>
    private void StartEagerly(Mutation m, StartWorkflowExecutionRequest request)
    {
        var task = m.State.WorkflowTask!;
        StartWorkflowTask(m, task.ScheduledEventId, task.Attempt, request.Identity, request.RequestId);
    }

    /// <summary>
    /// The eager task of a run started for this request: its first workflow task if that is still running as first
    /// started (event 3, attempt 1), else null (the task completed, failed or timed out and went through matching).
    /// </summary>
    private Task<PollWorkflowTaskQueueResponse?> EagerWorkflowTaskAsync(WorkflowKey key) => ReadAsync(key, c =>
        c.State.IsOpen && c.State.WorkflowTask is { IsStarted: true, StartedEventId: 3, Attempt: 1 }
            ? BuildWorkflowTaskResponse(c, new QueueKey(key.NamespaceId, c.State.TaskQueue, TaskCategory.Workflow))
            : null);
}
