using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

internal sealed partial class WorkflowServiceHandler
{
    private const int DefaultHistoryPageSize = 1000;

    public Task<StartWorkflowExecutionResponse> StartWorkflowExecution(StartWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        ValidateStart(request);
        ValidateCompletionCallbacks(request.CompletionCallbacks);
        HistoryEngine.ValidateOverride(request.VersioningOverride);
        request.RequestEagerExecution &= options.EnableEagerWorkflowStart;
        return engine.StartWorkflowAsync(ns.Id, request);
    }

    private void ValidateStart(StartWorkflowExecutionRequest request) =>
        request.RequestId = ValidateStart(
            request.WorkflowId, request.WorkflowType?.Name, request.TaskQueue?.Name, request.RequestId, request.CronSchedule,
            [(request.WorkflowExecutionTimeout, "WorkflowExecutionTimeout"), (request.WorkflowRunTimeout, "WorkflowRunTimeout"),
             (request.WorkflowTaskTimeout, "WorkflowTaskTimeout"), (request.WorkflowStartDelay, "WorkflowStartDelay")],
            [(request.Input, "Input"), (request.Memo, "Memo"), (request.Header, "Header")]);

    public Task<SignalWithStartWorkflowExecutionResponse> SignalWithStartWorkflowExecution(SignalWithStartWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        request.RequestId = ValidateStart(
            request.WorkflowId, request.WorkflowType?.Name, request.TaskQueue?.Name, request.RequestId, request.CronSchedule,
            [(request.WorkflowExecutionTimeout, "WorkflowExecutionTimeout"), (request.WorkflowRunTimeout, "WorkflowRunTimeout"),
             (request.WorkflowTaskTimeout, "WorkflowTaskTimeout"), (request.WorkflowStartDelay, "WorkflowStartDelay")],
            [(request.Input, "Input"), (request.Memo, "Memo"), (request.Header, "Header"), (request.SignalInput, "SignalInput")]);
        Validation.RequireId(request.SignalName, "SignalName");
        HistoryEngine.ValidateOverride(request.VersioningOverride);
        return engine.SignalWithStartAsync(ns.Id, request);
    }

    /// <summary>
    /// Completion callbacks: only the ones this server issued to a Nexus handler (it delivers them itself); a callback to
    /// any other address would make the server call out, which it does not.
    /// </summary>
    private static void ValidateCompletionCallbacks(IEnumerable<Temporalio.Api.Common.V1.Callback> callbacks)
    {
        foreach (var callback in callbacks)
        {
            if (callback.Nexus is not { Url: Engine.Nexus.NexusCallbackToken.SystemUrl } nexus
                || !nexus.Header.TryGetValue(Engine.Nexus.NexusCallbackToken.Header, out var token) || Engine.Nexus.NexusCallbackToken.Decode(token) is null)
            {
                throw ServiceException.InvalidArgument(
                    $"CompletionCallbacks: only the Nexus callbacks this server gives handlers ({Engine.Nexus.NexusCallbackToken.SystemUrl} with its token) are accepted; "
                    + $"got {ServiceException.Quote(callback.Nexus?.Url ?? callback.VariantCase.ToString(), 200)}.");
            }
        }
    }

    /// <summary>The checks every way of starting a workflow shares; returns the request id to use.</summary>
    private string ValidateStart(
        string workflowId, string? workflowType, string? taskQueue, string requestId, string cronSchedule,
        IEnumerable<(Google.Protobuf.WellKnownTypes.Duration? Value, string Field)> durations,
        IEnumerable<(IMessage? Value, string Field)> payloads)
    {
        Validation.RequireId(workflowId, "WorkflowId");
        Validation.RequireId(workflowType, "WorkflowType");
        Validation.RequireId(taskQueue, "TaskQueue");
        foreach (var (value, field) in durations)
        {
            Validation.RequireNonNegative(value, field);
        }

        foreach (var (value, field) in payloads)
        {
            Validation.RequireSize(value, field, options.MaxPayloadBytes);
        }

        if (requestId.Length > Validation.MaxIdLength)
        {
            throw ServiceException.InvalidArgument("RequestId is longer than 1000 characters.");
        }

        if (!string.IsNullOrEmpty(cronSchedule))
        {
            Engine.History.CronSchedule.Parse(cronSchedule); // INVALID_ARGUMENT naming the problem
        }

        return string.IsNullOrEmpty(requestId) ? Guid.NewGuid().ToString() : requestId;
    }

    public async Task<UpdateWorkflowExecutionResponse> UpdateWorkflowExecution(UpdateWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.Request?.Meta?.UpdateId, "Request.Meta.UpdateId");
        Validation.RequireId(request.Request!.Input?.Name, "Request.Input.Name");
        Validation.RequireSize(request.Request.Input!.Args, "Request.Input.Args", options.MaxPayloadBytes);
        ValidateCompletionCallbacks(request.Request.CompletionCallbacks);
        if (request.WaitPolicy?.LifecycleStage is UpdateWorkflowExecutionLifecycleStage.Admitted)
        {
            throw ServiceException.InvalidArgument("WaitPolicy ADMITTED is not supported: wait for ACCEPTED or COMPLETED.");
        }

        var key = await engine.ResolveAsync(ns.Id, request.WorkflowExecution?.WorkflowId ?? string.Empty, request.WorkflowExecution?.RunId).ConfigureAwait(false);
        return await engine.ExecuteUpdateAsync(key, request, Validation.LongPollBudget(context, Now, options.MaxLongPoll), context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Update-with-start: start (or, per the conflict policy, use) the workflow, then run the update on that run.
    /// A failing operation is reported in a MultiOperationExecutionFailure, the other one marked aborted.
    /// </summary>
    public async Task<ExecuteMultiOperationResponse> ExecuteMultiOperation(ExecuteMultiOperationRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        if (request.Operations.Count != 2 || request.Operations[0].StartWorkflow is not { } start || request.Operations[1].UpdateWorkflow is not { } update)
        {
            throw ServiceException.InvalidArgument("Operations must be a StartWorkflow followed by an UpdateWorkflow.");
        }

        if (start.Namespace != request.Namespace || update.Namespace != request.Namespace)
        {
            throw ServiceException.InvalidArgument("Every operation must name the request's namespace.");
        }

        if (update.WorkflowExecution?.WorkflowId != start.WorkflowId || !string.IsNullOrEmpty(update.WorkflowExecution.RunId))
        {
            throw ServiceException.InvalidArgument("The update must name the started workflow's id and no run id.");
        }

        try
        {
            Validation.RequireId(update.Request?.Meta?.UpdateId, "Request.Meta.UpdateId");
            Validation.RequireId(update.Request!.Input?.Name, "Request.Input.Name");
            Validation.RequireSize(update.Request.Input!.Args, "Request.Input.Args", options.MaxPayloadBytes);
        }
        catch (ServiceException e)
        {
            throw MultiOperationFailure(e, failedIndex: 1); // checked before anything starts
        }

        try
        {
            ValidateStart(start);
            if (start.RequestEagerExecution)
            {
                throw ServiceException.InvalidArgument("RequestEagerExecution is not supported."); // Temporal's text
            }
        }
        catch (ServiceException e)
        {
            throw MultiOperationFailure(e, failedIndex: 0);
        }

        StartWorkflowExecutionResponse? started;
        ServiceException? startFailure;
        UpdateWorkflowExecutionResponse? updated;
        try
        {
            (started, startFailure, updated) = await engine.StartWithUpdateAsync(ns.Id, start, update, Validation.LongPollBudget(context, Now, options.MaxLongPoll), context.CancellationToken).ConfigureAwait(false);
        }
        catch (ServiceException e)
        {
            throw MultiOperationFailure(e, failedIndex: 1);
        }

        if (startFailure is not null)
        {
            throw MultiOperationFailure(startFailure, failedIndex: 0);
        }

        return new ExecuteMultiOperationResponse
        {
            Responses =
            {
                new ExecuteMultiOperationResponse.Types.Response { StartWorkflow = started },
                new ExecuteMultiOperationResponse.Types.Response { UpdateWorkflow = updated },
            },
        };
    }

    private static ServiceException MultiOperationFailure(ServiceException failed, int failedIndex)
    {
        var detail = new Temporalio.Api.ErrorDetails.V1.MultiOperationExecutionFailure();
        for (var i = 0; i < 2; i++)
        {
            var status = i == failedIndex
                ? new Temporalio.Api.ErrorDetails.V1.MultiOperationExecutionFailure.Types.OperationStatus
                {
                    Code = (int)Security.Pipeline.ErrorMapper.ToStatusCode(failed.Kind),
                    Message = failed.Message,
                }
                : new Temporalio.Api.ErrorDetails.V1.MultiOperationExecutionFailure.Types.OperationStatus
                {
                    Code = (int)Grpc.Core.StatusCode.Aborted,
                    Message = "Operation was aborted.",
                };
            if (i == failedIndex && failed.Detail != null)
            {
                status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(failed.Detail));
            }

            detail.Statuses.Add(status);
        }

        return new ServiceException(failed.Kind, "MultiOperation could not be executed: " + failed.Message, detail);
    }

    public async Task<PollWorkflowExecutionUpdateResponse> PollWorkflowExecutionUpdate(PollWorkflowExecutionUpdateRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var updateId = Validation.RequireId(request.UpdateRef?.UpdateId, "UpdateRef.UpdateId");
        var execution = request.UpdateRef!.WorkflowExecution;
        var key = await engine.ResolveAsync(ns.Id, execution?.WorkflowId ?? string.Empty, execution?.RunId).ConfigureAwait(false);
        var waitFor = request.WaitPolicy?.LifecycleStage ?? UpdateWorkflowExecutionLifecycleStage.Completed;
        return await engine.PollUpdateAsync(key, updateId, waitFor, Validation.LongPollBudget(context, Now, options.MaxLongPoll), context.CancellationToken).ConfigureAwait(false);
    }

    public async Task<RequestCancelWorkflowExecutionResponse> RequestCancelWorkflowExecution(RequestCancelWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = await engine.ResolveAsync(ns.Id, request.WorkflowExecution?.WorkflowId ?? string.Empty, request.WorkflowExecution?.RunId).ConfigureAwait(false);
        await engine.RequestCancelAsync(key, request).ConfigureAwait(false);
        return new RequestCancelWorkflowExecutionResponse();
    }

    public async Task<GetWorkflowExecutionHistoryResponse> GetWorkflowExecutionHistory(GetWorkflowExecutionHistoryRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var workflowId = Validation.RequireId(request.Execution?.WorkflowId, "Execution.WorkflowId");
        string? runId = request.Execution!.RunId;
        var token = request.NextPageToken.IsEmpty ? null : HistoryPageToken.Decode(request.NextPageToken);
        var key = await engine.ResolveAsync(ns.Id, workflowId, token?.RunId ?? runId).ConfigureAwait(false);
        var pageSize = request.MaximumPageSize > 0 ? request.MaximumPageSize : DefaultHistoryPageSize;
        if (token is { IsTaskPage: true })
        {
            // The rest of a workflow task's history, as its poll response promised.
            var (taskPage, taskNext) = await engine.ReadTaskHistoryPageAsync(key, token, pageSize).ConfigureAwait(false);
            var taskResponse = new GetWorkflowExecutionHistoryResponse { History = new Temporalio.Api.History.V1.History() };
            taskResponse.History.Events.AddRange(taskPage);
            taskResponse.NextPageToken = taskNext?.Encode() ?? ByteString.Empty;
            return taskResponse;
        }

        var from = token?.NextEventId ?? 1;
        var closeOnly = request.HistoryEventFilterType == HistoryEventFilterType.CloseEvent;
        var budget = Validation.LongPollBudget(context, Now, options.MaxLongPoll);
        if (request.WaitNewEvent)
        {
            draining.RefuseNewPoll(); // and one waiting is answered as if its time ran out: an empty page, a token to poll again with
        }

        var (events, next) = await engine.ReadHistoryAsync(key, from, pageSize, request.WaitNewEvent, closeOnly, budget, context.CancellationToken, draining.Token).ConfigureAwait(false);
        var response = new GetWorkflowExecutionHistoryResponse { History = new Temporalio.Api.History.V1.History() };
        response.History.Events.AddRange(events);
        if (next > 0)
        {
            response.NextPageToken = new HistoryPageToken(key.RunId, next).Encode();
        }

        return response;
    }

    public async Task<DescribeWorkflowExecutionResponse> DescribeWorkflowExecution(DescribeWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = await engine.ResolveAsync(ns.Id, request.Execution?.WorkflowId ?? string.Empty, request.Execution?.RunId).ConfigureAwait(false);
        return await engine.DescribeAsync(key).ConfigureAwait(false);
    }

    public async Task<SignalWorkflowExecutionResponse> SignalWorkflowExecution(SignalWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.SignalName, "SignalName");
        Validation.RequireSize(request.Input, "Input", options.MaxPayloadBytes);
        Validation.RequireSize(request.Header, "Header", options.MaxPayloadBytes);
        var key = await engine.ResolveAsync(ns.Id, request.WorkflowExecution?.WorkflowId ?? string.Empty, request.WorkflowExecution?.RunId).ConfigureAwait(false);
        await engine.SignalAsync(key, request).ConfigureAwait(false);
        return new SignalWorkflowExecutionResponse();
    }

    public async Task<QueryWorkflowResponse> QueryWorkflow(QueryWorkflowRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireSize(request.Query?.QueryArgs, "Query.QueryArgs", options.MaxPayloadBytes);
        var key = await engine.ResolveAsync(ns.Id, request.Execution?.WorkflowId ?? string.Empty, request.Execution?.RunId).ConfigureAwait(false);
        return await engine.QueryAsync(key, request, context.CancellationToken).ConfigureAwait(false);
    }

    public async Task<TerminateWorkflowExecutionResponse> TerminateWorkflowExecution(TerminateWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireSize(request.Details, "Details", options.MaxPayloadBytes);
        var key = await engine.ResolveAsync(ns.Id, request.WorkflowExecution?.WorkflowId ?? string.Empty, request.WorkflowExecution?.RunId).ConfigureAwait(false);
        await engine.TerminateAsync(key, request.Reason, request.Details, request.Identity).ConfigureAwait(false);
        return new TerminateWorkflowExecutionResponse();
    }

    public async Task<ResetWorkflowExecutionResponse> ResetWorkflowExecution(ResetWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var workflowId = Validation.RequireId(request.WorkflowExecution?.WorkflowId, "WorkflowExecution.WorkflowId");
        if (request.PostResetOperations.Count > 0)
        {
            throw ServiceException.InvalidArgument("PostResetOperations are not supported by this server; reset without them.");
        }

        var key = await engine.ResolveAsync(ns.Id, workflowId, request.WorkflowExecution!.RunId).ConfigureAwait(false);
        return await engine.ResetAsync(key, request).ConfigureAwait(false);
    }

    public async Task<GetWorkflowExecutionHistoryReverseResponse> GetWorkflowExecutionHistoryReverse(GetWorkflowExecutionHistoryReverseRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var workflowId = Validation.RequireId(request.Execution?.WorkflowId, "Execution.WorkflowId");
        string? runId = request.Execution!.RunId;
        long before = long.MaxValue;
        if (!request.NextPageToken.IsEmpty)
        {
            var token = HistoryPageToken.Decode(request.NextPageToken);
            (runId, before) = (token.RunId, token.NextEventId);
        }

        var key = await engine.ResolveAsync(ns.Id, workflowId, runId).ConfigureAwait(false);
        var pageSize = request.MaximumPageSize > 0 ? request.MaximumPageSize : DefaultHistoryPageSize;
        var events = await engine.ReadAsync(key, c => HistoryEngine.EventsOf(c).Where(e => e.EventId < before).Reverse().Take(pageSize).ToList()).ConfigureAwait(false);
        var response = new GetWorkflowExecutionHistoryReverseResponse { History = new Temporalio.Api.History.V1.History() };
        response.History.Events.AddRange(events);
        if (events.Count == pageSize && events[^1].EventId > 1)
        {
            response.NextPageToken = new HistoryPageToken(key.RunId, events[^1].EventId).Encode();
        }

        return response;
    }

    public async Task<DeleteWorkflowExecutionResponse> DeleteWorkflowExecution(DeleteWorkflowExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = await engine.ResolveAsync(ns.Id, request.WorkflowExecution?.WorkflowId ?? string.Empty, request.WorkflowExecution?.RunId).ConfigureAwait(false);
        await engine.DeleteAsync(key).ConfigureAwait(false);
        return new DeleteWorkflowExecutionResponse();
    }
}
