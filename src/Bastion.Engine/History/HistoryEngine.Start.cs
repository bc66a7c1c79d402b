using Bastion.Engine.Errors;
using Bastion.Engine.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    private static readonly TimeSpan s_defaultTaskTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_maxTaskTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Starts a run: a retried request (same request id) returns the run it started; a running workflow with the
    /// same id is ALREADY_EXISTS with the detail the SDKs need; a closed one is replaced per the reuse policy.
    /// </summary>
    public async Task<StartWorkflowExecutionResponse> StartWorkflowAsync(string namespaceId, StartWorkflowExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var gate = _workflowIdLocks[(int)((uint)request.WorkflowId.GetHashCode(StringComparison.Ordinal) % (uint)_workflowIdLocks.Length)];
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var currentRunId = await GetCurrentRunIdAsync(namespaceId, request.WorkflowId).ConfigureAwait(false);
            if (currentRunId != null)
            {
                var existing = await ReadAsync(new WorkflowKey(namespaceId, request.WorkflowId, currentRunId), c => CheckExisting(c.State, request)).ConfigureAwait(false);
                if (existing != null)
                {
                    return existing;
                }
            }

            var now = Now;
            var runId = Guid.NewGuid().ToString();
            var key = new WorkflowKey(namespaceId, request.WorkflowId, runId);
            var taskTimeout = request.WorkflowTaskTimeout?.ToTimeSpan() is { } t && t > TimeSpan.Zero
                ? (t > s_maxTaskTimeout ? s_maxTaskTimeout : t)
                : s_defaultTaskTimeout;
            var executionTimeout = Positive(request.WorkflowExecutionTimeout);
            var runTimeout = Positive(request.WorkflowRunTimeout) ?? executionTimeout;
            if (executionTimeout is { } e && runTimeout > e)
            {
                runTimeout = e;
            }

            var delay = Positive(request.WorkflowStartDelay);
            var state = new WorkflowState
            {
                NamespaceId = namespaceId,
                WorkflowId = request.WorkflowId,
                RunId = runId,
                FirstRunId = runId,
                WorkflowType = request.WorkflowType.Name,
                TaskQueue = request.TaskQueue.Name,
                StartTime = now,
                ExecutionTime = now + (delay ?? TimeSpan.Zero),
                ExecutionTimeout = executionTimeout,
                RunTimeout = runTimeout,
                TaskTimeout = taskTimeout,
                StartRequestId = request.RequestId,
                Memo = request.Memo?.ToByteArray(),
                SearchAttributes = request.SearchAttributes?.ToByteArray(),
            };
            var context = new WorkflowContext(key, ShardOf(namespaceId, request.WorkflowId), state, 0) { Events = [] };
            var m = new Mutation(context, now);
            m.AddEvent(new HistoryEvent
            {
                EventType = EventType.WorkflowExecutionStarted,
                WorkflowExecutionStartedEventAttributes = new()
                {
                    WorkflowType = request.WorkflowType,
                    TaskQueue = new TaskQueue { Name = request.TaskQueue.Name, Kind = TaskQueueKind.Normal },
                    Input = request.Input,
                    WorkflowExecutionTimeout = ToDuration(executionTimeout),
                    WorkflowRunTimeout = ToDuration(runTimeout),
                    WorkflowTaskTimeout = Duration.FromTimeSpan(taskTimeout),
                    OriginalExecutionRunId = runId,
                    Identity = request.Identity,
                    FirstExecutionRunId = runId,
                    Attempt = 1,
                    WorkflowExecutionExpirationTime = executionTimeout is { } x ? Timestamp.FromDateTime(now + x) : null,
                    FirstWorkflowTaskBackoff = ToDuration(delay),
                    Memo = request.Memo,
                    SearchAttributes = request.SearchAttributes,
                    Header = request.Header,
                    RetryPolicy = request.RetryPolicy,
                    CronSchedule = request.CronSchedule,
                    WorkflowId = request.WorkflowId,
                    Priority = request.Priority,
                },
            });
            if (delay is { } d)
            {
                state.AwaitingStartDelay = true;
                m.AddTask(TaskKind.WorkflowStartBackoff, 1, 0, now + d);
            }
            else
            {
                ScheduleWorkflowTask(m);
            }

            if (runTimeout is { } run)
            {
                m.AddTask(TaskKind.WorkflowRunTimeout, 1, 0, now + run);
            }

            await CreateRunAsync(m, currentRunId).ConfigureAwait(false);
            return new StartWorkflowExecutionResponse { RunId = runId, Started = true };
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>What an existing run of the same id means for a start: a deduplicated answer, an error, or go on (null).</summary>
    private static StartWorkflowExecutionResponse? CheckExisting(WorkflowState current, StartWorkflowExecutionRequest request)
    {
        if (current.StartRequestId == request.RequestId)
        {
            return new StartWorkflowExecutionResponse { RunId = current.RunId, Started = true };
        }

        if (current.IsOpen)
        {
            switch (request.WorkflowIdConflictPolicy)
            {
                case WorkflowIdConflictPolicy.UseExisting:
                    return new StartWorkflowExecutionResponse { RunId = current.RunId, Started = false };
                case WorkflowIdConflictPolicy.TerminateExisting:
                    throw new ServiceException(ErrorKind.InvalidArgument, "WorkflowIdConflictPolicy TerminateExisting is not supported by this Bastion version yet.");
                default:
#pragma warning disable CS0612 // Deprecated in favour of the conflict policy, but SDKs still send it.
                    if (request.WorkflowIdReusePolicy == WorkflowIdReusePolicy.TerminateIfRunning)
#pragma warning restore CS0612
                    {
                        throw new ServiceException(ErrorKind.InvalidArgument, "WorkflowIdReusePolicy TerminateIfRunning is not supported by this Bastion version yet.");
                    }

                    throw AlreadyStarted(current, $"Workflow execution is already running. WorkflowId: {current.WorkflowId}, RunId: {current.RunId}.");
            }
        }

        var closedSuccessfully = current.Status == (int)WorkflowExecutionStatus.Completed;
        return request.WorkflowIdReusePolicy switch
        {
            WorkflowIdReusePolicy.RejectDuplicate =>
                throw AlreadyStarted(current, $"Workflow execution already finished and WorkflowIdReusePolicy is RejectDuplicate. WorkflowId: {current.WorkflowId}, RunId: {current.RunId}."),
            WorkflowIdReusePolicy.AllowDuplicateFailedOnly when closedSuccessfully =>
                throw AlreadyStarted(current, $"Workflow execution already finished successfully and WorkflowIdReusePolicy is AllowDuplicateFailedOnly. WorkflowId: {current.WorkflowId}, RunId: {current.RunId}."),
            _ => null,
        };
    }

    private static ServiceException AlreadyStarted(WorkflowState current, string message) =>
        new(ErrorKind.AlreadyExists, message, new WorkflowExecutionAlreadyStartedFailure { StartRequestId = current.StartRequestId, RunId = current.RunId });
}
