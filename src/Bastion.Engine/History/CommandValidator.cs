using Google.Protobuf;
using Google.Protobuf.Collections;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Enums.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Checks a workflow task's commands before any is applied, so an invalid one fails the task with a cause
/// and a message naming the field, and nothing of the batch is written.
/// </summary>
internal static class CommandValidator
{
    public const int MaxPayloadBytes = 2 * 1024 * 1024;
    private const int MaxIdLength = 1000;

    public static bool IsTerminal(CommandType type) => type is CommandType.CompleteWorkflowExecution
        or CommandType.FailWorkflowExecution or CommandType.CancelWorkflowExecution or CommandType.ContinueAsNewWorkflowExecution;

    /// <param name="isOwnNamespace">Whether a namespace a command names is the run's own (nothing crosses namespaces).</param>
    public static (WorkflowTaskFailedCause Cause, string Message)? Validate(
        WorkflowState state, RepeatedField<Command> commands, Func<string, bool> isOwnNamespace, EngineLimits limits)
    {
        if (PendingLimitProblem(state, commands, limits) is { } limitProblem)
        {
            return limitProblem;
        }

        var newActivityIds = new HashSet<string>();
        var newTimerIds = new HashSet<string>();
        var canceledTimers = new HashSet<string>();
        for (var i = 0; i < commands.Count; i++)
        {
            var command = commands[i];
            var problem = command.AttributesCase switch
            {
                Command.AttributesOneofCase.ScheduleActivityTaskCommandAttributes =>
                    ValidateActivity(state, command.ScheduleActivityTaskCommandAttributes, newActivityIds),
                Command.AttributesOneofCase.RequestCancelActivityTaskCommandAttributes =>
                    state.Activities.ContainsKey(command.RequestCancelActivityTaskCommandAttributes.ScheduledEventId)
                        ? null
                        : (WorkflowTaskFailedCause.BadRequestCancelActivityAttributes,
                            $"RequestCancelActivityTask: no pending activity was scheduled by event {command.RequestCancelActivityTaskCommandAttributes.ScheduledEventId}."),
                Command.AttributesOneofCase.StartTimerCommandAttributes => ValidateTimer(state, command.StartTimerCommandAttributes, newTimerIds),
                Command.AttributesOneofCase.CancelTimerCommandAttributes =>
                    ValidateCancelTimer(state, command.CancelTimerCommandAttributes.TimerId, newTimerIds, canceledTimers),
                Command.AttributesOneofCase.RecordMarkerCommandAttributes =>
                    string.IsNullOrEmpty(command.RecordMarkerCommandAttributes.MarkerName)
                        ? (WorkflowTaskFailedCause.BadRecordMarkerAttributes, "RecordMarker: MarkerName is not set on command.")
                        : SizeProblem(WorkflowTaskFailedCause.BadRecordMarkerAttributes, "RecordMarker details", command.RecordMarkerCommandAttributes.Details.Values.Sum(p => p.CalculateSize())),
                Command.AttributesOneofCase.CompleteWorkflowExecutionCommandAttributes =>
                    SizeProblem(WorkflowTaskFailedCause.BadCompleteWorkflowExecutionAttributes, "CompleteWorkflowExecution result", command.CompleteWorkflowExecutionCommandAttributes.Result?.CalculateSize() ?? 0),
                Command.AttributesOneofCase.FailWorkflowExecutionCommandAttributes =>
                    command.FailWorkflowExecutionCommandAttributes.Failure is null
                        ? (WorkflowTaskFailedCause.BadFailWorkflowExecutionAttributes, "FailWorkflowExecution: Failure is not set on command.")
                        : SizeProblem(WorkflowTaskFailedCause.BadFailWorkflowExecutionAttributes, "FailWorkflowExecution failure", command.FailWorkflowExecutionCommandAttributes.Failure.CalculateSize()),
                Command.AttributesOneofCase.CancelWorkflowExecutionCommandAttributes =>
                    SizeProblem(WorkflowTaskFailedCause.BadCancelWorkflowExecutionAttributes, "CancelWorkflowExecution details", command.CancelWorkflowExecutionCommandAttributes.Details?.CalculateSize() ?? 0),
                Command.AttributesOneofCase.SignalExternalWorkflowExecutionCommandAttributes =>
                    ValidateExternal(
                        command.SignalExternalWorkflowExecutionCommandAttributes.Execution?.WorkflowId,
#pragma warning disable CS0612 // Deprecated, but SDKs still send it: anything but the own namespace is refused.
                        command.SignalExternalWorkflowExecutionCommandAttributes.Namespace,
#pragma warning restore CS0612
                        isOwnNamespace,
                        WorkflowTaskFailedCause.BadSignalWorkflowExecutionAttributes,
                        "SignalExternalWorkflowExecution")
                    ?? (string.IsNullOrEmpty(command.SignalExternalWorkflowExecutionCommandAttributes.SignalName)
                        ? (WorkflowTaskFailedCause.BadSignalWorkflowExecutionAttributes, "SignalExternalWorkflowExecution: SignalName is not set on command.")
                        : SizeProblem(WorkflowTaskFailedCause.BadSignalInputSize, "SignalExternalWorkflowExecution input", command.SignalExternalWorkflowExecutionCommandAttributes.Input?.CalculateSize() ?? 0)),
                Command.AttributesOneofCase.RequestCancelExternalWorkflowExecutionCommandAttributes =>
                    ValidateExternal(
                        command.RequestCancelExternalWorkflowExecutionCommandAttributes.WorkflowId,
#pragma warning disable CS0612 // Deprecated, but SDKs still send it: anything but the own namespace is refused.
                        command.RequestCancelExternalWorkflowExecutionCommandAttributes.Namespace,
#pragma warning restore CS0612
                        isOwnNamespace,
                        WorkflowTaskFailedCause.BadRequestCancelExternalWorkflowExecutionAttributes,
                        "RequestCancelExternalWorkflowExecution"),
                Command.AttributesOneofCase.UpsertWorkflowSearchAttributesCommandAttributes =>
                    command.UpsertWorkflowSearchAttributesCommandAttributes.SearchAttributes is null
                        ? (WorkflowTaskFailedCause.BadSearchAttributes, "UpsertWorkflowSearchAttributes: SearchAttributes is not set on command.")
                        : SizeProblem(WorkflowTaskFailedCause.BadSearchAttributes, "Search attributes", command.UpsertWorkflowSearchAttributesCommandAttributes.SearchAttributes.CalculateSize()),
                Command.AttributesOneofCase.ModifyWorkflowPropertiesCommandAttributes =>
                    command.ModifyWorkflowPropertiesCommandAttributes.UpsertedMemo is null
                        ? (WorkflowTaskFailedCause.BadModifyWorkflowPropertiesAttributes, "ModifyWorkflowProperties: UpsertedMemo is not set on command.")
                        : SizeProblem(WorkflowTaskFailedCause.BadModifyWorkflowPropertiesAttributes, "Memo", command.ModifyWorkflowPropertiesCommandAttributes.UpsertedMemo.CalculateSize()),
                Command.AttributesOneofCase.StartChildWorkflowExecutionCommandAttributes =>
                    ValidateChild(command.StartChildWorkflowExecutionCommandAttributes, isOwnNamespace),
                Command.AttributesOneofCase.ContinueAsNewWorkflowExecutionCommandAttributes =>
                    ValidateContinueAsNew(command.ContinueAsNewWorkflowExecutionCommandAttributes),
                Command.AttributesOneofCase.ScheduleNexusOperationCommandAttributes => ValidateNexus(command.ScheduleNexusOperationCommandAttributes),
                Command.AttributesOneofCase.RequestCancelNexusOperationCommandAttributes =>
                    state.NexusOperations.TryGetValue(command.RequestCancelNexusOperationCommandAttributes.ScheduledEventId, out var nexusOp) && nexusOp.CancelRequestedEventId == 0
                        ? null
                        : (WorkflowTaskFailedCause.BadRequestCancelNexusOperationAttributes,
                            $"RequestCancelNexusOperation: no pending Nexus operation was scheduled by event {command.RequestCancelNexusOperationCommandAttributes.ScheduledEventId}, or its cancel was already requested."),
                Command.AttributesOneofCase.ProtocolMessageCommandAttributes => null, // checked against the task's messages below
                Command.AttributesOneofCase.None =>
                    (WorkflowTaskFailedCause.UnhandledCommand, $"Command {i} ({command.CommandType}) has no attributes."),
                _ => (WorkflowTaskFailedCause.UnhandledCommand, $"Command {command.CommandType} is not supported by this Bastion version yet."),
            };
            if (problem != null)
            {
                return problem;
            }

            if (IsTerminal(command.CommandType) && i != commands.Count - 1)
            {
                return (WorkflowTaskFailedCause.BadCompleteWorkflowExecutionAttributes, $"{command.CommandType} must be the last command of a workflow task.");
            }
        }

        return null;
    }

    private static (WorkflowTaskFailedCause, string)? ValidateActivity(WorkflowState state, ScheduleActivityTaskCommandAttributes a, HashSet<string> newIds)
    {
        const WorkflowTaskFailedCause cause = WorkflowTaskFailedCause.BadScheduleActivityAttributes;
        if (string.IsNullOrEmpty(a.ActivityId))
        {
            return (cause, "ScheduleActivityTask: ActivityId is not set on command.");
        }

        if (a.ActivityId.Length > MaxIdLength)
        {
            return (cause, "ScheduleActivityTask: ActivityId exceeds 1000 characters.");
        }

        if (string.IsNullOrEmpty(a.ActivityType?.Name))
        {
            return (cause, "ScheduleActivityTask: ActivityType is not set on command.");
        }

        if (state.Activities.Values.Any(x => x.ActivityId == a.ActivityId) || !newIds.Add(a.ActivityId))
        {
            return (WorkflowTaskFailedCause.ScheduleActivityDuplicateId, $"ScheduleActivityTask: activity id {a.ActivityId} is already in use.");
        }

        if (IsNegative(a.ScheduleToCloseTimeout) || IsNegative(a.ScheduleToStartTimeout) || IsNegative(a.StartToCloseTimeout) || IsNegative(a.HeartbeatTimeout))
        {
            return (cause, "ScheduleActivityTask: a timeout is negative.");
        }

        if (!IsPositive(a.ScheduleToCloseTimeout) && !IsPositive(a.StartToCloseTimeout))
        {
            return (cause, "ScheduleActivityTask: a valid StartToCloseTimeout or ScheduleToCloseTimeout is not set on command.");
        }

        if (RetryPolicies.Validate(a.RetryPolicy) is { } retryProblem)
        {
            return (cause, "ScheduleActivityTask: " + retryProblem);
        }

        return SizeProblem(cause, "ScheduleActivityTask input", a.Input?.CalculateSize() ?? 0);
    }

    private static (WorkflowTaskFailedCause, string)? ValidateTimer(WorkflowState state, StartTimerCommandAttributes a, HashSet<string> newIds)
    {
        if (string.IsNullOrEmpty(a.TimerId))
        {
            return (WorkflowTaskFailedCause.BadStartTimerAttributes, "StartTimer: TimerId is not set on command.");
        }

        if (!IsPositive(a.StartToFireTimeout))
        {
            return (WorkflowTaskFailedCause.BadStartTimerAttributes, $"StartTimer: StartToFireTimeout of timer {a.TimerId} must be positive.");
        }

        if (state.Timers.ContainsKey(a.TimerId) || !newIds.Add(a.TimerId))
        {
            return (WorkflowTaskFailedCause.StartTimerDuplicateId, $"StartTimer: timer id {a.TimerId} is already in use.");
        }

        return null;
    }

    private static (WorkflowTaskFailedCause, string)? ValidateCancelTimer(WorkflowState state, string timerId, HashSet<string> newIds, HashSet<string> canceled)
    {
        if (string.IsNullOrEmpty(timerId))
        {
            return (WorkflowTaskFailedCause.BadCancelTimerAttributes, "CancelTimer: TimerId is not set on command.");
        }

        // A timer started by this same batch cannot be canceled by it: the handler would not find its row yet.
        if (!state.Timers.ContainsKey(timerId) || newIds.Contains(timerId) || !canceled.Add(timerId))
        {
            return (WorkflowTaskFailedCause.BadCancelTimerAttributes, $"CancelTimer: no pending timer has id {timerId}.");
        }

        return null;
    }

    private static (WorkflowTaskFailedCause, string)? PendingLimitProblem(WorkflowState state, RepeatedField<Command> commands, EngineLimits limits)
    {
        int Count(CommandType type) => commands.Count(c => c.CommandType == type);
        var pendingCancels = state.PendingExternal.Count(p => p.Value);
        if (state.Activities.Count + Count(CommandType.ScheduleActivityTask) > limits.MaxPendingActivities)
        {
            return (WorkflowTaskFailedCause.PendingActivitiesLimitExceeded, $"The workflow would have more than {limits.MaxPendingActivities} pending activities.");
        }

        if (state.Children.Count + Count(CommandType.StartChildWorkflowExecution) > limits.MaxPendingChildren)
        {
            return (WorkflowTaskFailedCause.PendingChildWorkflowsLimitExceeded, $"The workflow would have more than {limits.MaxPendingChildren} pending child workflows.");
        }

        if (state.PendingExternal.Count - pendingCancels + Count(CommandType.SignalExternalWorkflowExecution) > limits.MaxPendingSignals)
        {
            return (WorkflowTaskFailedCause.PendingSignalsLimitExceeded, $"The workflow would have more than {limits.MaxPendingSignals} pending signals to other workflows.");
        }

        return pendingCancels + Count(CommandType.RequestCancelExternalWorkflowExecution) > limits.MaxPendingCancelRequests
            ? (WorkflowTaskFailedCause.PendingRequestCancelLimitExceeded, $"The workflow would have more than {limits.MaxPendingCancelRequests} pending cancel requests to other workflows.")
            : null;
    }

    private static (WorkflowTaskFailedCause, string)? ValidateExternal(
        string? workflowId, string? ns, Func<string, bool> isOwnNamespace, WorkflowTaskFailedCause cause, string command)
    {
        if (string.IsNullOrEmpty(workflowId))
        {
            return (cause, $"{command}: WorkflowId is not set on command.");
        }

        if (HiddenRuns.IsHidden(workflowId))
        {
            return (cause, $"{command}: {HiddenRuns.Refusal}");
        }

        return !string.IsNullOrEmpty(ns) && !isOwnNamespace(ns)
            ? (cause, $"{command}: the target must be in the workflow's own namespace.")
            : null;
    }

    private static (WorkflowTaskFailedCause, string)? ValidateChild(StartChildWorkflowExecutionCommandAttributes a, Func<string, bool> isOwnNamespace)
    {
        const WorkflowTaskFailedCause cause = WorkflowTaskFailedCause.BadStartChildExecutionAttributes;
        if (string.IsNullOrEmpty(a.WorkflowId) || a.WorkflowId.Length > MaxIdLength)
        {
            return (cause, "StartChildWorkflowExecution: WorkflowId is not set on command (or exceeds 1000 characters).");
        }

        if (HiddenRuns.IsHidden(a.WorkflowId))
        {
            return (cause, "StartChildWorkflowExecution: " + HiddenRuns.Refusal);
        }

        if (string.IsNullOrEmpty(a.WorkflowType?.Name))
        {
            return (cause, "StartChildWorkflowExecution: WorkflowType is not set on command.");
        }

#pragma warning disable CS0612 // Deprecated (children share the parent's namespace), but SDKs still send it: reject any other.
        var requestedNamespace = a.Namespace;
#pragma warning restore CS0612
        if (!string.IsNullOrEmpty(requestedNamespace) && !isOwnNamespace(requestedNamespace))
        {
            return (cause, "StartChildWorkflowExecution: a child workflow must be in its parent's namespace.");
        }

        if (CronProblem(a.CronSchedule) is { } cronProblem)
        {
            return (cause, "StartChildWorkflowExecution: " + cronProblem);
        }

        if (IsNegative(a.WorkflowExecutionTimeout) || IsNegative(a.WorkflowRunTimeout) || IsNegative(a.WorkflowTaskTimeout))
        {
            return (cause, "StartChildWorkflowExecution: a timeout is negative.");
        }

        return RetryPolicies.Validate(a.RetryPolicy) is { } retryProblem
            ? (cause, "StartChildWorkflowExecution: " + retryProblem)
            : SizeProblem(cause, "StartChildWorkflowExecution input", a.Input?.CalculateSize() ?? 0);
    }

    private static (WorkflowTaskFailedCause, string)? ValidateContinueAsNew(ContinueAsNewWorkflowExecutionCommandAttributes a)
    {
        const WorkflowTaskFailedCause cause = WorkflowTaskFailedCause.BadContinueAsNewAttributes;
        if (string.IsNullOrEmpty(a.WorkflowType?.Name))
        {
            return (cause, "ContinueAsNewWorkflowExecution: WorkflowType is not set on command.");
        }

        if (IsNegative(a.WorkflowRunTimeout) || IsNegative(a.WorkflowTaskTimeout) || IsNegative(a.BackoffStartInterval))
        {
            return (cause, "ContinueAsNewWorkflowExecution: a timeout or the backoff is negative.");
        }

        if (CronProblem(a.CronSchedule) is { } cronProblem)
        {
            return (cause, "ContinueAsNewWorkflowExecution: " + cronProblem);
        }

        if (RetryPolicies.Validate(a.RetryPolicy) is { } retryProblem)
        {
            return (cause, "ContinueAsNewWorkflowExecution: " + retryProblem);
        }

        return SizeProblem(cause, "ContinueAsNewWorkflowExecution input", a.Input?.CalculateSize() ?? 0)
            ?? SizeProblem(cause, "ContinueAsNewWorkflowExecution memo", a.Memo?.CalculateSize() ?? 0);
    }

    private static string? CronProblem(string cronSchedule)
    {
        if (string.IsNullOrEmpty(cronSchedule))
        {
            return null;
        }

        try
        {
            CronSchedule.Parse(cronSchedule);
            return null;
        }
        catch (Errors.ServiceException e)
        {
            return e.Message;
        }
    }

    private static (WorkflowTaskFailedCause, string)? SizeProblem(WorkflowTaskFailedCause cause, string what, int size) =>
        size > MaxPayloadBytes ? (cause, $"{what} is {size} bytes, over the {MaxPayloadBytes}-byte limit.") : null;

    private static bool IsNegative(Google.Protobuf.WellKnownTypes.Duration? d) => d != null && (d.Seconds < 0 || d.Nanos < 0);

    private static bool IsPositive(Google.Protobuf.WellKnownTypes.Duration? d) => d != null && (d.Seconds > 0 || (d.Seconds == 0 && d.Nanos > 0));

    /// <summary>ScheduleNexusOperation: endpoint, service and operation named, input within the payload limit.</summary>
    private static (WorkflowTaskFailedCause, string)? ValidateNexus(ScheduleNexusOperationCommandAttributes a) =>
        string.IsNullOrEmpty(a.Endpoint) ? (WorkflowTaskFailedCause.BadScheduleNexusOperationAttributes, "ScheduleNexusOperation: Endpoint is not set on command.")
        : string.IsNullOrEmpty(a.Service) ? (WorkflowTaskFailedCause.BadScheduleNexusOperationAttributes, "ScheduleNexusOperation: Service is not set on command.")
        : string.IsNullOrEmpty(a.Operation) ? (WorkflowTaskFailedCause.BadScheduleNexusOperationAttributes, "ScheduleNexusOperation: Operation is not set on command.")
        : a.ScheduleToCloseTimeout is { } t && t.ToTimeSpan() < TimeSpan.Zero ? (WorkflowTaskFailedCause.BadScheduleNexusOperationAttributes, "ScheduleNexusOperation: ScheduleToCloseTimeout is negative.")
        : SizeProblem(WorkflowTaskFailedCause.BadScheduleNexusOperationAttributes, "ScheduleNexusOperation input", a.Input?.CalculateSize() ?? 0);
}
