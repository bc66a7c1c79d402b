using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Google.Protobuf;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.Cluster;

/// <summary>What a call addresses in a cluster: a workflow, schedule or batch job (by its shard), or a task queue.</summary>
internal abstract record CallTarget;

/// <summary>A call about something of a shard (a workflow id, schedule id or batch job id hashes to it).</summary>
internal sealed record ShardTarget(int Shard) : CallTarget;

/// <summary>A call to a task queue: a poll of a partitioned queue (any of its partitions serves it), or its root (a sticky queue's poll, its pollers).</summary>
internal sealed record QueueTarget(QueueKey Queue, bool Partitioned) : CallTarget;

/// <summary>A task queue's Nexus half, served by one node (<see cref="Engine.Cluster.ClusterRouting.OwnerOfNexusQueue"/>): its polls.</summary>
internal sealed record NexusQueueTarget(string NamespaceId, string TaskQueue) : CallTarget;

/// <summary>A named node, while it is live (else the node the client reached answers): the answer to a Nexus task, whose token names the node holding the task.</summary>
internal sealed record NodeTarget(string Node) : CallTarget;

/// <summary>
/// Which node of a cluster a WorkflowService call must run on. Calls about one workflow, schedule or batch job go to
/// the owner of its shard (task tokens carry the workflow); polls go to the owner of a partition of the task queue (a sticky queue's, and calls about a queue's pollers, to its root's); a Nexus poll to its queue's Nexus node, and a Nexus task's answer to the node its token names; everything else
/// (namespaces, visibility, listing schedules or batch jobs, system information) reads the shared database and runs
/// on the node the client reached. A request that names nothing routable (an empty or malformed id or token) runs
/// locally, whose handler answers it with the precise error.
/// </summary>
internal static class CallRoutes
{
    public static CallTarget? Of(IMessage request, string namespaceId, HistoryEngine engine)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(engine);
        CallTarget? Workflow(string? workflowId) => string.IsNullOrEmpty(workflowId) ? null : new ShardTarget(engine.ShardOf(namespaceId, workflowId));

        // A standalone activity's run lives on the shard of its own id (a space apart from workflow ids).
        CallTarget? Activity(string? activityId) => string.IsNullOrEmpty(activityId) ? null : Workflow(StandaloneActivity.RunWorkflowId(activityId));

        // The by-id forms name a workflow's activity, or with no workflow id a standalone activity.
        CallTarget? ById(string? workflowId, string? activityId) => string.IsNullOrEmpty(workflowId) ? Activity(activityId) : Workflow(workflowId);

        CallTarget? Operation(string? operationId) => string.IsNullOrEmpty(operationId) ? null : Workflow(Engine.Nexus.NexusOperationRuns.WorkflowIdOf(operationId));
        CallTarget? Token(ByteString token, TaskTokenKind kind)
        {
            try
            {
                return Workflow(TaskToken.Decode(token, namespaceId, kind).Key.WorkflowId);
            }
            catch (ServiceException)
            {
                return null;
            }
        }

        // A Nexus task token is the dispatcher's: it names the node that holds the task (checked against the namespace there).
        CallTarget? NexusToken(ByteString token) =>
            token.IsEmpty || NexusTaskDispatcher.NodeOfToken(token.ToStringUtf8()) is not { } node ? null : new NodeTarget(node);

        CallTarget? Queue(string? name, TaskCategory category, bool partitioned = false) =>
            string.IsNullOrEmpty(name) ? null : new QueueTarget(new QueueKey(namespaceId, name, category), partitioned);

        return request switch
        {
            StartWorkflowExecutionRequest r => Workflow(r.WorkflowId),
            StartNexusOperationExecutionRequest r => Operation(r.OperationId),
            DescribeNexusOperationExecutionRequest r => Operation(r.OperationId),
            PollNexusOperationExecutionRequest r => Operation(r.OperationId),
            RequestCancelNexusOperationExecutionRequest r => Operation(r.OperationId),
            TerminateNexusOperationExecutionRequest r => Operation(r.OperationId),
            DeleteNexusOperationExecutionRequest r => Operation(r.OperationId),
            SignalWithStartWorkflowExecutionRequest r => Workflow(r.WorkflowId),
            ExecuteMultiOperationRequest r => r.Operations.Count > 0 ? Workflow(r.Operations[0].StartWorkflow?.WorkflowId) : null,
            UpdateWorkflowExecutionRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            PollWorkflowExecutionUpdateRequest r => Workflow(r.UpdateRef?.WorkflowExecution?.WorkflowId),
            RequestCancelWorkflowExecutionRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            GetWorkflowExecutionHistoryRequest r => Workflow(r.Execution?.WorkflowId),
            GetWorkflowExecutionHistoryReverseRequest r => Workflow(r.Execution?.WorkflowId),
            DescribeWorkflowExecutionRequest r => Workflow(r.Execution?.WorkflowId),
            SignalWorkflowExecutionRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            QueryWorkflowRequest r => Workflow(r.Execution?.WorkflowId),
            TerminateWorkflowExecutionRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            ResetWorkflowExecutionRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            DeleteWorkflowExecutionRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            ResetStickyTaskQueueRequest r => Workflow(r.Execution?.WorkflowId),
            UpdateWorkflowExecutionOptionsRequest r => Workflow(r.WorkflowExecution?.WorkflowId),
            RespondWorkflowTaskCompletedRequest r => Token(r.TaskToken, TaskTokenKind.WorkflowTask),
            RespondWorkflowTaskFailedRequest r => Token(r.TaskToken, TaskTokenKind.WorkflowTask),
            RespondQueryTaskCompletedRequest r => Token(r.TaskToken, TaskTokenKind.QueryTask),
            RecordActivityTaskHeartbeatRequest r => Token(r.TaskToken, TaskTokenKind.ActivityTask),
            RespondActivityTaskCompletedRequest r => Token(r.TaskToken, TaskTokenKind.ActivityTask),
            RespondActivityTaskFailedRequest r => Token(r.TaskToken, TaskTokenKind.ActivityTask),
            RespondActivityTaskCanceledRequest r => Token(r.TaskToken, TaskTokenKind.ActivityTask),
            RecordActivityTaskHeartbeatByIdRequest r => ById(r.WorkflowId, r.ActivityId),
            RespondActivityTaskCompletedByIdRequest r => ById(r.WorkflowId, r.ActivityId),
            RespondActivityTaskFailedByIdRequest r => ById(r.WorkflowId, r.ActivityId),
            RespondActivityTaskCanceledByIdRequest r => ById(r.WorkflowId, r.ActivityId),
            PauseActivityRequest r => Workflow(r.Execution?.WorkflowId),
            UnpauseActivityRequest r => Workflow(r.Execution?.WorkflowId),
            ResetActivityRequest r => Workflow(r.Execution?.WorkflowId),
            UpdateActivityOptionsRequest r => Workflow(r.Execution?.WorkflowId),
            PauseActivityExecutionRequest r => ById(r.WorkflowId, r.ActivityId),
            UnpauseActivityExecutionRequest r => ById(r.WorkflowId, r.ActivityId),
            ResetActivityExecutionRequest r => ById(r.WorkflowId, r.ActivityId),
            UpdateActivityExecutionOptionsRequest r => ById(r.WorkflowId, r.ActivityId),
            PauseWorkflowExecutionRequest r => Workflow(r.WorkflowId),
            UnpauseWorkflowExecutionRequest r => Workflow(r.WorkflowId),
            StartActivityExecutionRequest r => Activity(r.ActivityId),
            DescribeActivityExecutionRequest r => Activity(r.ActivityId),
            PollActivityExecutionRequest r => Activity(r.ActivityId),
            RequestCancelActivityExecutionRequest r => Activity(r.ActivityId),
            TerminateActivityExecutionRequest r => Activity(r.ActivityId),
            DeleteActivityExecutionRequest r => Activity(r.ActivityId),
            CreateScheduleRequest r => Workflow(r.ScheduleId),
            DescribeScheduleRequest r => Workflow(r.ScheduleId),
            UpdateScheduleRequest r => Workflow(r.ScheduleId),
            PatchScheduleRequest r => Workflow(r.ScheduleId),
            DeleteScheduleRequest r => Workflow(r.ScheduleId),
            StartBatchOperationRequest r => Workflow(r.JobId),
            DescribeBatchOperationRequest r => Workflow(r.JobId),
            StopBatchOperationRequest r => Workflow(r.JobId),
            PollWorkflowTaskQueueRequest r => Queue(r.TaskQueue?.Name, TaskCategory.Workflow, partitioned: r.TaskQueue?.Kind != Temporalio.Api.Enums.V1.TaskQueueKind.Sticky),
            PollActivityTaskQueueRequest r => Queue(r.TaskQueue?.Name, TaskCategory.Activity, partitioned: true),
            PollNexusTaskQueueRequest r => string.IsNullOrEmpty(r.TaskQueue?.Name) ? null : new NexusQueueTarget(namespaceId, r.TaskQueue.Name),
            RespondNexusTaskCompletedRequest r => NexusToken(r.TaskToken),
            RespondNexusTaskFailedRequest r => NexusToken(r.TaskToken),
            DescribeTaskQueueRequest r => Queue(r.TaskQueue?.Name, r.TaskQueueType == Temporalio.Api.Enums.V1.TaskQueueType.Activity ? TaskCategory.Activity : TaskCategory.Workflow),
            ShutdownWorkerRequest r => Queue(r.StickyTaskQueue, TaskCategory.Workflow),
            RecordWorkerHeartbeatRequest or ListWorkersRequest or CountWorkersRequest or DescribeWorkerRequest =>
                new QueueTarget(WorkflowService.WorkflowServiceHandler.WorkerRegistryQueue(namespaceId), Partitioned: false),
            UpdateTaskQueueConfigRequest r => Queue(r.TaskQueue, r.TaskQueueType == Temporalio.Api.Enums.V1.TaskQueueType.Activity ? TaskCategory.Activity : TaskCategory.Workflow),
            AddSearchAttributesRequest or RemoveSearchAttributesRequest or ListSearchAttributesRequest => null,
            _ => null,
        };
    }
}
