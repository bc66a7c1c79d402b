using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.Query.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>A query waiting for its answer; in memory only, like the caller that waits for it.</summary>
internal sealed class PendingQuery(WorkflowQuery query)
{
    public WorkflowQuery Query { get; } = query;

    public TaskCompletionSource<RespondQueryTaskCompletedRequest> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed partial class HistoryEngine
{
    private static readonly TimeSpan s_stickyPollerWindow = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Answers a query. With a workflow task in flight the query waits for it and goes to the worker with the next
    /// one (or as a query task if none follows), so the answer reflects every event before it, as in Temporal.
    /// Before the first workflow task completed the query waits for it (until the caller's deadline) and rides it:
    /// workflow code that has never run cannot answer a query task.
    /// Otherwise a query task goes to the run's sticky queue when its worker is polling, else to the normal queue
    /// (full history); closed runs are queried that way too.
    /// </summary>
    public async Task<QueryWorkflowResponse> QueryAsync(WorkflowKey key, QueryWorkflowRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Query?.QueryType))
        {
            throw ServiceException.InvalidArgument("QueryType is not set on request.");
        }

        var queryId = Guid.NewGuid().ToString();
        var pending = new PendingQuery(request.Query!);
        _queries[queryId] = pending;
        try
        {
            var status = await ReadAsync(key, c =>
            {
                var status = (WorkflowExecutionStatus)c.State.ShownStatus;
                if (IsRejected(request.QueryRejectCondition, status))
                {
                    return status;
                }

                if (!c.State.IsOpen && !HasCompletedWorkflowTask(c.State))
                {
                    throw WorkflowNotReady("Workflow execution closed before WorkflowTaskStarted event");
                }

                if (MustWaitForWorkflowTask(c.State))
                {
                    c.BufferedQueries[queryId] = pending;
                }
                else
                {
                    DispatchQueryTask(c, queryId);
                }

                return status;
            }).ConfigureAwait(false);
            if (IsRejected(request.QueryRejectCondition, status))
            {
                return new QueryWorkflowResponse { QueryRejected = new QueryRejected { Status = status } };
            }

            var answer = await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (answer.CompletedType == QueryResultType.Answered)
            {
                return new QueryWorkflowResponse { QueryResult = answer.QueryResult };
            }

            var message = string.IsNullOrEmpty(answer.ErrorMessage) ? "Query failed." : answer.ErrorMessage;
            throw new ServiceException(ErrorKind.InvalidArgument, message, new QueryFailedFailure { Failure = answer.Failure });
        }
        finally
        {
            // A caller that gave up is forgotten: a buffered copy is skipped when it comes up.
            pending.Result.TrySetCanceled(CancellationToken.None);
            _queries.TryRemove(queryId, out _);
        }
    }

    /// <summary>Whether the query is answered QueryRejected: per its condition, and always while the workflow is paused (Temporal's rule).</summary>
    private static bool IsRejected(QueryRejectCondition condition, WorkflowExecutionStatus status) => status == WorkflowExecutionStatus.Paused || condition switch
    {
        QueryRejectCondition.NotOpen => status != WorkflowExecutionStatus.Running,
        QueryRejectCondition.NotCompletedCleanly => status is not (WorkflowExecutionStatus.Running or WorkflowExecutionStatus.Completed),
        _ => false,
    };

    /// <summary>A query task for the run: to its sticky queue when its worker is polling, else to the normal queue.</summary>
    private void DispatchQueryTask(WorkflowContext context, string queryId)
    {
        var state = context.State;
        var queue = state.StickyQueue is { } sticky
            && Matching.HasRecentPoller(new QueueKey(context.Key.NamespaceId, sticky, TaskCategory.Workflow), s_stickyPollerWindow)
                ? sticky
                : state.TaskQueue;
        Enqueue(new QueueKey(context.Key.NamespaceId, queue, TaskCategory.Workflow), new QueryTaskItem(context.Key, queryId), front: true, task: null);
    }

    /// <summary>After a commit: buffered queries with no workflow task left to carry them become query tasks.</summary>
    private void DispatchUnblockedQueries(WorkflowContext context)
    {
        if (context.BufferedQueries.Count == 0 || MustWaitForWorkflowTask(context.State))
        {
            return;
        }

        var closedUnrun = !context.State.IsOpen && !HasCompletedWorkflowTask(context.State);
        foreach (var (id, query) in context.BufferedQueries)
        {
            if (closedUnrun)
            {
                query.Result.TrySetException(WorkflowNotReady("Workflow execution closed before WorkflowTaskStarted event"));
            }
            else if (!query.Result.Task.IsCompleted)
            {
                DispatchQueryTask(context, id);
            }
        }

        context.BufferedQueries.Clear();
    }

    /// <summary>
    /// A query waits for a workflow task of an open run when one is in flight or scheduled, or when none has completed
    /// yet (a start delay or cron backoff before the first): the task carries it to the worker.
    /// </summary>
    private static bool MustWaitForWorkflowTask(WorkflowState state) =>
        state.IsOpen && (state.WorkflowTask != null || !HasCompletedWorkflowTask(state));

    private static bool HasCompletedWorkflowTask(WorkflowState state) => state.LastCompletedStartedEventId > 0;

    private static ServiceException WorkflowNotReady(string message) =>
        new(ErrorKind.FailedPrecondition, message, new WorkflowNotReadyFailure());

    /// <summary>The buffered queries go to the worker with the workflow task being started.</summary>
    private static void AttachBufferedQueries(WorkflowContext context, MapField<string, WorkflowQuery> queries)
    {
        foreach (var (id, query) in context.BufferedQueries.ToList())
        {
            if (query.Result.Task.IsCompleted)
            {
                context.BufferedQueries.Remove(id);
            }
            else
            {
                queries[id] = query.Query;
            }
        }
    }

    /// <summary>Answers carried by a workflow task completion.</summary>
    private static void AnswerBufferedQueries(WorkflowContext context, MapField<string, WorkflowQueryResult> results)
    {
        foreach (var (id, result) in results)
        {
            if (context.BufferedQueries.Remove(id, out var query))
            {
                query.Result.TrySetResult(new RespondQueryTaskCompletedRequest
                {
                    CompletedType = result.ResultType,
                    QueryResult = result.Answer,
                    ErrorMessage = result.ErrorMessage,
                    Failure = result.Failure,
                });
            }
        }
    }

    /// <summary>Builds the poll response for a query task, or null if its caller has gone.</summary>
    public Task<PollWorkflowTaskQueueResponse?> StartQueryTaskAsync(QueryTaskItem item, QueueKey queue)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (!_queries.TryGetValue(item.QueryId, out var pending))
        {
            return Task.FromResult<PollWorkflowTaskQueueResponse?>(null);
        }

        return ReadAsync(item.Key, context =>
        {
            var s = context.State;
            var fromSticky = s.StickyQueue == queue.Name && s.IsOpen;
            var first = fromSticky ? s.LastCompletedStartedEventId + 1 : 1;
            var history = new Temporalio.Api.History.V1.History();
            history.Events.AddRange(EventsOf(context).Where(e => e.EventId >= first));
            return (PollWorkflowTaskQueueResponse?)new PollWorkflowTaskQueueResponse
            {
                TaskToken = TaskToken.ForQuery(item.Key, item.QueryId).Encode(),
                WorkflowExecution = new WorkflowExecution { WorkflowId = s.WorkflowId, RunId = s.RunId },
                WorkflowType = new WorkflowType { Name = s.WorkflowType },
                PreviousStartedEventId = s.LastCompletedStartedEventId,
                StartedEventId = 0,
                History = history,
                Query = pending.Query,
                WorkflowExecutionTaskQueue = new TaskQueue { Name = s.TaskQueue, Kind = TaskQueueKind.Normal },
                ScheduledTime = Timestamp.FromDateTime(Now),
                StartedTime = Timestamp.FromDateTime(Now),
            };
        });
    }

    public void RespondQueryTask(TaskToken token, RespondQueryTaskCompletedRequest request)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!_queries.TryGetValue(token.QueryId, out var pending) || !pending.Result.TrySetResult(request))
        {
            throw ServiceException.NotFound("Query not found: its caller gave up or it was answered already.");
        }
    }
}
