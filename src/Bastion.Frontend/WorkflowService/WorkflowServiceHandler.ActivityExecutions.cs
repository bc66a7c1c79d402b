using Bastion.Engine.Errors;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>Standalone activities (issue 21): activities started by a client, run by the workers of their task queue.</summary>
internal sealed partial class WorkflowServiceHandler
{
    public Task<StartActivityExecutionResponse> StartActivityExecution(StartActivityExecutionRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.ActivityId, "ActivityId");
        Validation.RequireId(request.ActivityType?.Name, "ActivityType");
        Validation.RequireId(request.TaskQueue?.Name, "TaskQueue");
        foreach (var (value, field) in new[]
        {
            (request.ScheduleToCloseTimeout, "ScheduleToCloseTimeout"), (request.ScheduleToStartTimeout, "ScheduleToStartTimeout"),
            (request.StartToCloseTimeout, "StartToCloseTimeout"), (request.HeartbeatTimeout, "HeartbeatTimeout"), (request.StartDelay, "StartDelay"),
        })
        {
            Validation.RequireNonNegative(value, field);
        }

        if (!IsPositive(request.ScheduleToCloseTimeout) && !IsPositive(request.StartToCloseTimeout))
        {
            throw ServiceException.InvalidArgument("A valid ScheduleToCloseTimeout or StartToCloseTimeout is not set on request.");
        }

        Validation.RequireSize(request.Input, "Input", options.MaxPayloadBytes);
        Validation.RequireSize(request.Header, "Header", options.MaxPayloadBytes);
        ValidateCompletionCallbacks(request.CompletionCallbacks);

        if (request.RequestId.Length > Validation.MaxIdLength)
        {
            throw ServiceException.InvalidArgument("RequestId is longer than 1000 characters.");
        }

        request.RequestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId;

        // Temporal's defaults: a new run may reuse the id of any closed one; a running one refuses the start.
        if (request.IdReusePolicy == ActivityIdReusePolicy.Unspecified)
        {
            request.IdReusePolicy = ActivityIdReusePolicy.AllowDuplicate;
        }

        if (request.IdConflictPolicy == ActivityIdConflictPolicy.Unspecified)
        {
            request.IdConflictPolicy = ActivityIdConflictPolicy.Fail;
        }

        return engine.StartActivityExecutionAsync(ns.Id, request);
    }

    public async Task<DescribeActivityExecutionResponse> DescribeActivityExecution(DescribeActivityExecutionRequest request, ServerCallContext context)
    {
        var key = await StandaloneActivityAsync(request.ActivityId, request.RunId, context).ConfigureAwait(false);
        var wait = Validation.LongPollBudget(context, Now, options.MaxLongPoll);
        return await engine.DescribeActivityExecutionAsync(key, request, wait, context.CancellationToken).ConfigureAwait(false);
    }

    public async Task<PollActivityExecutionResponse> PollActivityExecution(PollActivityExecutionRequest request, ServerCallContext context)
    {
        var key = await StandaloneActivityAsync(request.ActivityId, request.RunId, context).ConfigureAwait(false);
        var wait = Validation.LongPollBudget(context, Now, options.MaxLongPoll);
        return await engine.PollActivityExecutionAsync(key, wait, context.CancellationToken).ConfigureAwait(false);
    }

    public async Task<ListActivityExecutionsResponse> ListActivityExecutions(ListActivityExecutionsRequest request, ServerCallContext context)
    {
        var (executions, next) = await visibility.ListActivitiesAsync(NamespaceOf(context), request.Query, request.PageSize, request.NextPageToken).ConfigureAwait(false);
        return new ListActivityExecutionsResponse { Executions = { executions }, NextPageToken = next };
    }

    public Task<CountActivityExecutionsResponse> CountActivityExecutions(CountActivityExecutionsRequest request, ServerCallContext context) =>
        visibility.CountActivitiesAsync(NamespaceOf(context), request.Query);

    public async Task<RequestCancelActivityExecutionResponse> RequestCancelActivityExecution(RequestCancelActivityExecutionRequest request, ServerCallContext context)
    {
        var key = await StandaloneActivityAsync(request.ActivityId, request.RunId, context).ConfigureAwait(false);
        await engine.RequestCancelActivityExecutionAsync(key, request.RequestId, request.Reason, request.Identity).ConfigureAwait(false);
        return new RequestCancelActivityExecutionResponse();
    }

    public async Task<TerminateActivityExecutionResponse> TerminateActivityExecution(TerminateActivityExecutionRequest request, ServerCallContext context)
    {
        var key = await StandaloneActivityAsync(request.ActivityId, request.RunId, context).ConfigureAwait(false);
        await engine.TerminateActivityExecutionAsync(key, request.RequestId, request.Reason, request.Identity).ConfigureAwait(false);
        return new TerminateActivityExecutionResponse();
    }

    public async Task<DeleteActivityExecutionResponse> DeleteActivityExecution(DeleteActivityExecutionRequest request, ServerCallContext context)
    {
        var key = await StandaloneActivityAsync(request.ActivityId, request.RunId, context).ConfigureAwait(false);
        await engine.DeleteActivityExecutionAsync(key).ConfigureAwait(false);
        return new DeleteActivityExecutionResponse();
    }

    private Task<Engine.History.WorkflowKey> StandaloneActivityAsync(string activityId, string runId, ServerCallContext context) =>
        engine.ResolveStandaloneAsync(NamespaceOf(context).Id, activityId, runId);

    private static bool IsPositive(Google.Protobuf.WellKnownTypes.Duration? value) => value is { } d && (d.Seconds > 0 || d.Nanos > 0);
}
