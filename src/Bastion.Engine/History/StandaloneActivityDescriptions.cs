using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Activity.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>What clients see of a standalone activity's run: describe, outcome, list rows and statuses.</summary>
internal static class StandaloneActivityDescriptions
{
    public static DescribeActivityExecutionResponse Describe(WorkflowState s, DescribeActivityExecutionRequest request)
    {
        var standalone = s.Standalone!;
        var activity = s.Activities.GetValueOrDefault(standalone.ScheduledEventId) ?? standalone.Final;
        var scheduled = activity is null ? new ActivityTaskScheduledEventAttributes() : ActivityTaskScheduledEventAttributes.Parser.ParseFrom(activity.ScheduledAttributes);

        // The options its attempts get now: as scheduled, or as UpdateActivityExecutionOptions changed them.
        var options = activity is null ? null : HistoryEngine.CurrentOptions(activity, scheduled);
        var info = new ActivityExecutionInfo
        {
            ActivityId = standalone.ActivityId,
            RunId = s.RunId,
            ActivityType = new ActivityType { Name = s.WorkflowType },
            Status = StatusOf(s.ShownStatus),
            RunState = !s.IsOpen || activity is null ? PendingActivityState.Unspecified
                : activity.CancelRequested ? PendingActivityState.CancelRequested
                : activity.IsStarted ? (activity.Paused ? PendingActivityState.PauseRequested : PendingActivityState.Started)
                : activity.Paused ? PendingActivityState.Paused : PendingActivityState.Scheduled,
            TaskQueue = options?.TaskQueue.Name ?? s.TaskQueue,
            ScheduleToCloseTimeout = options?.ScheduleToCloseTimeout ?? scheduled.ScheduleToCloseTimeout,
            ScheduleToStartTimeout = options?.ScheduleToStartTimeout ?? scheduled.ScheduleToStartTimeout,
            StartToCloseTimeout = options?.StartToCloseTimeout ?? scheduled.StartToCloseTimeout,
            HeartbeatTimeout = options?.HeartbeatTimeout ?? scheduled.HeartbeatTimeout,
            RetryPolicy = options?.RetryPolicy ?? scheduled.RetryPolicy,
            Attempt = activity?.Attempt ?? 1,
            ScheduleTime = Timestamp.FromDateTime(s.StartTime),
            ExecutionTime = Timestamp.FromDateTime(s.ExecutionTime),
            CloseTime = s.CloseTime is { } closed ? Timestamp.FromDateTime(closed) : null,
            ExecutionDuration = s.CloseTime is { } end ? Duration.FromTimeSpan(end - s.ExecutionTime) : null,
            LastStartedTime = activity?.StartedTime is { } startedAt ? Timestamp.FromDateTime(startedAt) : null,
            LastHeartbeatTime = activity?.LastHeartbeatTime is { } beat ? Timestamp.FromDateTime(beat) : null,
            ExpirationTime = activity?.ScheduleToCloseTimeout is { } s2c ? Timestamp.FromDateTime(s.ExecutionTime + s2c) : null,
            LastWorkerIdentity = activity?.LastWorkerIdentity ?? string.Empty,
            Priority = options?.Priority ?? scheduled.Priority,
            StateTransitionCount = s.StateTransitionCount,
            SearchAttributes = ShownAttributes(s.SearchAttributes is { } sa ? SearchAttributes.Parser.ParseFrom(sa) : null),
            Header = scheduled.Header,
            UserMetadata = s.UserMetadata is { } metadata ? Temporalio.Api.Sdk.V1.UserMetadata.Parser.ParseFrom(metadata) : null,
            CanceledReason = standalone.CanceledReason ?? string.Empty,
            StartDelay = standalone.StartDelay is { } delay ? Duration.FromTimeSpan(delay) : null,
            Links = { standalone.Links.Select(Link.Parser.ParseFrom) },
        };
        if (request.IncludeHeartbeatDetails && activity?.HeartbeatDetails is { } details)
        {
            info.HeartbeatDetails = Payloads.Parser.ParseFrom(details);
        }

        if (request.IncludeLastFailure && activity?.LastFailure is { } failure)
        {
            info.LastFailure = Failure.Parser.ParseFrom(failure);
        }

        var response = new DescribeActivityExecutionResponse
        {
            RunId = s.RunId,
            Info = info,
            LongPollToken = ByteString.CopyFromUtf8(s.StateTransitionCount.ToString(CultureInfo.InvariantCulture)),
            Callbacks =
            {
                NexusCallbackDescriptions.Of(s).Select(callback => new Temporalio.Api.Activity.V1.CallbackInfo
                {
                    Trigger = new() { ActivityClosed = new() },
                    Info = callback,
                }),
            },
        };
        if (request.IncludeInput)
        {
            response.Input = scheduled.Input;
        }

        if (request.IncludeOutcome)
        {
            response.Outcome = OutcomeOf(standalone);
        }

        return response;
    }

    /// <summary>The outcome once the activity closed, else null.</summary>
    public static ActivityExecutionOutcome? OutcomeOf(StandaloneActivity standalone) =>
        standalone.Outcome is { } outcome ? ActivityExecutionOutcome.Parser.ParseFrom(outcome) : null;

    /// <summary>A list row: the run's visibility info, which holds the activity id, type and queue in its workflow fields.</summary>
    public static ActivityExecutionListInfo ListInfoOf(WorkflowExecutionInfo row) => new()
    {
        ActivityId = row.Execution.WorkflowId,
        RunId = row.Execution.RunId,
        ActivityType = new ActivityType { Name = row.Type.Name },
        ScheduleTime = row.StartTime,
        CloseTime = row.CloseTime,
        Status = StatusOf((int)row.Status),
        SearchAttributes = ShownAttributes(row.SearchAttributes),
        TaskQueue = row.TaskQueue,
        StateTransitionCount = row.StateTransitionCount,
        ExecutionDuration = row.ExecutionDuration,
        ExecutionTime = row.ExecutionTime,
    };

    /// <summary>The run's workflow status as an activity status (the same names; timed out is 6, not 7).</summary>
    public static ActivityExecutionStatus StatusOf(int workflowStatus) => (WorkflowExecutionStatus)workflowStatus switch
    {
        WorkflowExecutionStatus.Running => ActivityExecutionStatus.Running,
        WorkflowExecutionStatus.Completed => ActivityExecutionStatus.Completed,
        WorkflowExecutionStatus.Failed => ActivityExecutionStatus.Failed,
        WorkflowExecutionStatus.Canceled => ActivityExecutionStatus.Canceled,
        WorkflowExecutionStatus.Terminated => ActivityExecutionStatus.Terminated,
        WorkflowExecutionStatus.TimedOut => ActivityExecutionStatus.TimedOut,
        WorkflowExecutionStatus.Paused => ActivityExecutionStatus.Paused,
        _ => ActivityExecutionStatus.Unspecified,
    };

    /// <summary>The caller's search attributes, without the division marker the server adds.</summary>
    private static SearchAttributes? ShownAttributes(SearchAttributes? attributes)
    {
        if (attributes is null)
        {
            return null;
        }

        var shown = new SearchAttributes(attributes);
        shown.IndexedFields.Remove("TemporalNamespaceDivision");
        return shown;
    }
}
