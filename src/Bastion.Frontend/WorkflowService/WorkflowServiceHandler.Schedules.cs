using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Visibility;
using Grpc.Core;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Schedule.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>Schedules (docs/schedules.md): checked here, kept and run by the schedule engine.</summary>
internal sealed partial class WorkflowServiceHandler
{
    private static readonly TimeSpan s_minCatchupWindow = TimeSpan.FromSeconds(10);

    public Task<CreateScheduleResponse> CreateSchedule(CreateScheduleRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.ScheduleId, "ScheduleId");
        request.RequestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId;
        ValidateSchedule(ns, request.Schedule, request.Memo, request.SearchAttributes);
        return schedules.CreateAsync(ns.Id, request);
    }

    public Task<DescribeScheduleResponse> DescribeSchedule(DescribeScheduleRequest request, ServerCallContext context)
    {
        Validation.RequireId(request.ScheduleId, "ScheduleId");
        return schedules.DescribeAsync(NamespaceOf(context).Id, request.ScheduleId);
    }

    public Task<UpdateScheduleResponse> UpdateSchedule(UpdateScheduleRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.ScheduleId, "ScheduleId");
        ValidateSchedule(ns, request.Schedule, request.Memo, request.SearchAttributes);
        return schedules.UpdateAsync(ns.Id, request);
    }

    public Task<PatchScheduleResponse> PatchSchedule(PatchScheduleRequest request, ServerCallContext context)
    {
        Validation.RequireId(request.ScheduleId, "ScheduleId");
        if (request.Patch is null)
        {
            throw ServiceException.InvalidArgument("Patch is not set on request.");
        }

        foreach (var backfill in request.Patch.BackfillRequest)
        {
            if (backfill.StartTime is null || backfill.EndTime is null || backfill.EndTime.ToDateTime() < backfill.StartTime.ToDateTime())
            {
                throw ServiceException.InvalidArgument("A backfill request needs a start time and an end time not before it.");
            }
        }

        return schedules.PatchAsync(NamespaceOf(context).Id, request);
    }

    public Task<DeleteScheduleResponse> DeleteSchedule(DeleteScheduleRequest request, ServerCallContext context)
    {
        Validation.RequireId(request.ScheduleId, "ScheduleId");
        return schedules.DeleteAsync(NamespaceOf(context).Id, request.ScheduleId);
    }

    public Task<ListSchedulesResponse> ListSchedules(ListSchedulesRequest request, ServerCallContext context) =>
        schedules.ListAsync(NamespaceOf(context), request.Query, request.MaximumPageSize, request.NextPageToken);

    public Task<CountSchedulesResponse> CountSchedules(CountSchedulesRequest request, ServerCallContext context) =>
        schedules.CountAsync(NamespaceOf(context), request.Query);

    public Task<ListScheduleMatchingTimesResponse> ListScheduleMatchingTimes(ListScheduleMatchingTimesRequest request, ServerCallContext context)
    {
        Validation.RequireId(request.ScheduleId, "ScheduleId");
        if (request.StartTime is null || request.EndTime is null)
        {
            throw ServiceException.InvalidArgument("StartTime and EndTime must both be set.");
        }

        return schedules.MatchingTimesAsync(NamespaceOf(context).Id, request);
    }

    /// <summary>
    /// What a schedule must be: a start-workflow action that would pass a workflow start's checks, a spec that
    /// compiles, a catch-up window of at least 10 s, memo and search attributes within limits and registered.
    /// </summary>
    private void ValidateSchedule(NamespaceEntry ns, Schedule? schedule, Memo? memo, SearchAttributes? searchAttributes)
    {
        if (schedule is null)
        {
            throw ServiceException.InvalidArgument("Schedule is not set on request.");
        }

        if (schedule.Action?.StartWorkflow is not { } action)
        {
            throw ServiceException.InvalidArgument("Schedule.Action.StartWorkflow is not set: a schedule's action must start a workflow.");
        }

        ValidateStart(
            action.WorkflowId, action.WorkflowType?.Name, action.TaskQueue?.Name, string.Empty, string.Empty,
            [(action.WorkflowExecutionTimeout, "WorkflowExecutionTimeout"), (action.WorkflowRunTimeout, "WorkflowRunTimeout"), (action.WorkflowTaskTimeout, "WorkflowTaskTimeout")],
            [(action.Input, "Input"), (action.Memo, "Memo"), (action.Header, "Header")]);
        RequireSearchAttributes(ns, action.SearchAttributes, "Schedule.Action.StartWorkflow.SearchAttributes");
        Engine.Schedules.ScheduleSpecCompiler.Compile(schedule.Spec);
        if (schedule.Policies?.CatchupWindow?.ToTimeSpan() is { } window && window != TimeSpan.Zero && window < s_minCatchupWindow)
        {
            throw ServiceException.InvalidArgument($"Schedule.Policies.CatchupWindow must be at least 10s (was {window.TotalSeconds}s).");
        }

        Validation.RequireSize(memo, "Memo", options.MaxPayloadBytes);
        RequireSearchAttributes(ns, searchAttributes, "SearchAttributes");
    }

    private static void RequireSearchAttributes(NamespaceEntry ns, SearchAttributes? attributes, string field)
    {
        if (SearchAttributeValues.Problem(ns, attributes) is { } problem)
        {
            throw ServiceException.InvalidArgument($"Invalid {field}: {problem}");
        }
    }
}
