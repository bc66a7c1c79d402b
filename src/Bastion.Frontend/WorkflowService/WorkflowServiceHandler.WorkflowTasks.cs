using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

internal sealed partial class WorkflowServiceHandler
{
    public async Task<PollWorkflowTaskQueueResponse> PollWorkflowTaskQueue(PollWorkflowTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var queue = new QueueKey(ns.Id, Validation.RequireId(request.TaskQueue?.Name, "TaskQueue"), TaskCategory.Workflow);
        var deadline = Now + Validation.LongPollBudget(context, Now, options.MaxLongPoll);
        while (true)
        {
            var remaining = deadline - Now;
            if (remaining <= TimeSpan.Zero)
            {
                return new PollWorkflowTaskQueueResponse();
            }

            var item = await engine.Matching.PollAsync(queue, remaining, context.CancellationToken).ConfigureAwait(false);
            if (item is null)
            {
                return new PollWorkflowTaskQueueResponse();
            }

            PollWorkflowTaskQueueResponse? response;
            try
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                response = item switch
                {
                    WorkflowTaskItem task => await engine.RecordWorkflowTaskStartedAsync(task, request, queue, context.CancellationToken).ConfigureAwait(false),
                    QueryTaskItem query => await engine.StartQueryTaskAsync(query, queue).ConfigureAwait(false),
                    _ => throw new InvalidOperationException($"Unexpected item {item.GetType().Name} on a workflow task queue."),
                };
            }
            catch (OperationCanceledException)
            {
                // The poller left before the task was started: put it back for the next one.
                engine.Matching.Add(queue, item, front: true);
                throw;
            }

            if (response != null)
            {
                return response;
            }
        }
    }

    public async Task<RespondWorkflowTaskCompletedResponse> RespondWorkflowTaskCompleted(RespondWorkflowTaskCompletedRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var token = TaskToken.Decode(request.TaskToken, ns.Id, TaskTokenKind.WorkflowTask);
        return await engine.RespondWorkflowTaskCompletedAsync(token, request, new QueueKey(ns.Id, string.Empty, TaskCategory.Workflow)).ConfigureAwait(false);
    }

    public async Task<RespondWorkflowTaskFailedResponse> RespondWorkflowTaskFailed(RespondWorkflowTaskFailedRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var token = TaskToken.Decode(request.TaskToken, ns.Id, TaskTokenKind.WorkflowTask);
        Validation.RequireSize(request.Failure, "Failure", options.MaxPayloadBytes);
        return await engine.RespondWorkflowTaskFailedAsync(token, request).ConfigureAwait(false);
    }

    public Task<RespondQueryTaskCompletedResponse> RespondQueryTaskCompleted(RespondQueryTaskCompletedRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var token = TaskToken.Decode(request.TaskToken, ns.Id, TaskTokenKind.QueryTask);
        Validation.RequireSize(request.QueryResult, "QueryResult", options.MaxPayloadBytes);
        engine.RespondQueryTask(token, request);
        return Task.FromResult(new RespondQueryTaskCompletedResponse());
    }

    public async Task<ResetStickyTaskQueueResponse> ResetStickyTaskQueue(ResetStickyTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = await engine.ResolveAsync(ns.Id, request.Execution?.WorkflowId ?? string.Empty, request.Execution?.RunId).ConfigureAwait(false);
        await engine.ResetStickyAsync(key).ConfigureAwait(false);
        return new ResetStickyTaskQueueResponse();
    }

    public async Task<ShutdownWorkerResponse> ShutdownWorker(ShutdownWorkerRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        if (!string.IsNullOrEmpty(request.StickyTaskQueue))
        {
            await engine.ShutdownStickyQueueAsync(ns.Id, request.StickyTaskQueue).ConfigureAwait(false);
        }

        return new ShutdownWorkerResponse();
    }

    private static ServiceException NotSupported(string what) =>
        new(ErrorKind.InvalidArgument, $"{what} is not supported by this Bastion version yet.");
}
