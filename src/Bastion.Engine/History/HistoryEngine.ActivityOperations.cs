using Bastion.Engine.Errors;
using Bastion.Engine.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Activity.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.History.V1;
using TaskQueue = Temporalio.Api.TaskQueue.V1.TaskQueue;

namespace Bastion.Engine.History;

/// <summary>
/// Operator actions on a workflow's pending activities (issue 21): pause, unpause, reset and update options, as
/// Temporal's history service applies them. None writes an event; each changes the activity's mutable state and its
/// dispatch and timer tasks in one transition. A running attempt is never cut short: it learns of a pause or reset
/// from its heartbeat response, and the change applies to the attempt after it.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Which pending activities a request names: one by id, all of a type, or all of them.</summary>
    internal readonly record struct ActivitySelector(string? Id, string? Type, bool All);

    /// <summary>Temporal's text when nothing matches (consts.ErrActivityNotFound).</summary>
    private const string ActivityNotFoundMessage = "Can't find pending activity with such ID. Invalid activityID or activity already completed";

    /// <summary>The pending activities of an open run that the selector names; none is NOT_FOUND, as in Temporal.</summary>
    private static List<ActivityInfo> SelectActivities(WorkflowState state, ActivitySelector selector)
    {
        if (!state.IsOpen)
        {
            throw ServiceException.WorkflowCompleted();
        }

        var selected = state.Activities.Values
            .Where(a => selector.All || (selector.Id is { } id ? a.ActivityId == id : a.ActivityType == selector.Type))
            .OrderBy(a => a.ScheduledEventId)
            .ToList();
        return selected.Count > 0 ? selected : throw ServiceException.NotFound(ActivityNotFoundMessage);
    }

    public Task PauseActivityAsync(WorkflowKey key, ActivitySelector selector, PauseInfo pause) =>
        UpdateAsync(key, m =>
        {
            foreach (var info in SelectActivities(m.State, selector))
            {
                if (info.Pause is { } current)
                {
                    // The same request again is a no-op; another pause of a paused activity is refused (Temporal's rule).
                    if (current.RequestId == pause.RequestId)
                    {
                        continue;
                    }

                    throw new ServiceException(ErrorKind.FailedPrecondition, "activity is already paused");
                }

                PauseActivity(m, info, new PauseInfo { Time = m.Now, Identity = pause.Identity, Reason = pause.Reason, RequestId = pause.RequestId });
            }

            m.MarkChanged();
            return true;
        });

    /// <summary>
    /// The one way an activity is paused (by an operator or a workflow rule): a queued attempt is withdrawn; a running
    /// one goes on and sees the pause in its heartbeat response.
    /// </summary>
    private static void PauseActivity(Mutation m, ActivityInfo info, PauseInfo pause)
    {
        if (!info.IsStarted)
        {
            WithdrawAttempt(m, info);
        }

        info.Pause = pause;
        m.MarkChanged();
    }

    public Task UnpauseActivityAsync(WorkflowKey key, ActivitySelector selector, bool resetAttempts, bool resetHeartbeat, TimeSpan jitter) =>
        UpdateAsync(key, m =>
        {
            foreach (var info in SelectActivities(m.State, selector).Where(a => a.Paused))
            {
                info.Pause = null;
                if (resetHeartbeat)
                {
                    info.HeartbeatDetails = null;
                    info.LastHeartbeatTime = null;
                }

                if (info.IsStarted)
                {
                    // The running attempt keeps its number (its task token names it); the next one counts from 1.
                    info.ResetAttempts |= resetAttempts;
                    continue;
                }

                if (resetAttempts)
                {
                    info.Attempt = 1;
                }

                DispatchActivityAttempt(m, info, m.Now + Jitter(jitter), byOperator: true);
            }

            m.MarkChanged();
            return true;
        });

    public Task ResetActivityAsync(WorkflowKey key, ActivitySelector selector, bool resetHeartbeat, bool keepPaused, bool restoreOriginalOptions, TimeSpan jitter) =>
        UpdateAsync(key, m =>
        {
            foreach (var info in SelectActivities(m.State, selector))
            {
                if (restoreOriginalOptions)
                {
                    ApplyOptions(m, info, OriginalOptions(info));
                }

                if (info.IsStarted)
                {
                    // As Temporal: a running attempt is left to finish (its heartbeat says activity_reset), paused or not.
                    info.ResetRequested = true;
                    info.ResetAttempts = true;
                    info.ResetHeartbeats |= resetHeartbeat;
                    continue;
                }

                WithdrawAttempt(m, info);
                info.Attempt = 1;
                if (resetHeartbeat)
                {
                    info.HeartbeatDetails = null;
                    info.LastHeartbeatTime = null;
                }

                if (!keepPaused)
                {
                    info.Pause = null;
                }

                DispatchActivityAttempt(m, info, m.Now + Jitter(jitter), byOperator: true);
            }

            m.MarkChanged();
            return true;
        });

    /// <summary>
    /// Merges the fields the mask names into each selected activity's options (or restores the scheduled ones),
    /// validated and normalized as a ScheduleActivityTask command's; returns the last activity's new options.
    /// </summary>
    public Task<ActivityOptions> UpdateActivityOptionsAsync(WorkflowKey key, ActivitySelector selector, ActivityOptions? update, IReadOnlyCollection<string>? mask, bool restoreOriginal) =>
        UpdateAsync(key, m =>
        {
            var selected = SelectActivities(m.State, selector);
            ActivityOptions result = null!;
            foreach (var info in selected)
            {
                var options = restoreOriginal ? OriginalOptions(info) : Merge(info, update!, mask!);
                result = ApplyOptions(m, info, Normalize(options, m.State));
            }

            m.MarkChanged();
            return result;
        });

    /// <summary>Drops the queued (or backing-off) attempt's dispatch task and schedule-to-start timer.</summary>
    private static void WithdrawAttempt(Mutation m, ActivityInfo info)
    {
        m.DeleteTask(TaskKind.ActivityTask, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityScheduleToStartTimeout, info.ScheduledEventId, info.Attempt);
    }

    private static TimeSpan Jitter(TimeSpan jitter) =>
        jitter > TimeSpan.Zero ? TimeSpan.FromTicks(Random.Shared.NextInt64(jitter.Ticks)) : TimeSpan.Zero;

    /// <summary>The retry policy the activity's attempts follow now.</summary>
    private static RetryPolicy RetryPolicyOf(ActivityInfo info) =>
        info.RetryPolicy is { } policy
            ? RetryPolicy.Parser.ParseFrom(policy)
            : ActivityTaskScheduledEventAttributes.Parser.ParseFrom(info.ScheduledAttributes).RetryPolicy;

    /// <summary>The options the activity's attempts get now (those scheduled, as an UpdateActivityOptions changed them).</summary>
    internal static ActivityOptions CurrentOptions(ActivityInfo info, ActivityTaskScheduledEventAttributes scheduled) => new()
    {
        TaskQueue = new TaskQueue { Name = info.TaskQueue, NormalName = info.TaskQueue },
        ScheduleToCloseTimeout = ToDuration(info.ScheduleToCloseTimeout) ?? new Duration(),
        ScheduleToStartTimeout = ToDuration(info.ScheduleToStartTimeout) ?? new Duration(),
        StartToCloseTimeout = Duration.FromTimeSpan(info.StartToCloseTimeout),
        HeartbeatTimeout = ToDuration(info.HeartbeatTimeout) ?? new Duration(),
        RetryPolicy = info.RetryPolicy is { } policy ? RetryPolicy.Parser.ParseFrom(policy) : scheduled.RetryPolicy,
        Priority = info.Priority is { } priority ? Temporalio.Api.Common.V1.Priority.Parser.ParseFrom(priority) : scheduled.Priority,
    };

    private static ActivityOptions OriginalOptions(ActivityInfo info)
    {
        var scheduled = ActivityTaskScheduledEventAttributes.Parser.ParseFrom(info.ScheduledAttributes);
        return new ActivityOptions
        {
            TaskQueue = new TaskQueue { Name = scheduled.TaskQueue.Name },
            ScheduleToCloseTimeout = scheduled.ScheduleToCloseTimeout,
            ScheduleToStartTimeout = scheduled.ScheduleToStartTimeout,
            StartToCloseTimeout = scheduled.StartToCloseTimeout,
            HeartbeatTimeout = scheduled.HeartbeatTimeout,
            RetryPolicy = scheduled.RetryPolicy,
            Priority = scheduled.Priority,
        };
    }

    /// <summary>Temporal's field-mask merge (its camelCase paths, as the CLI and UI send them).</summary>
    private static ActivityOptions Merge(ActivityInfo info, ActivityOptions from, IReadOnlyCollection<string> mask)
    {
        var into = CurrentOptions(info, ActivityTaskScheduledEventAttributes.Parser.ParseFrom(info.ScheduledAttributes));
        into.RetryPolicy = into.RetryPolicy?.Clone() ?? new RetryPolicy();
        into.Priority = into.Priority?.Clone();
        foreach (var path in mask)
        {
            switch (path)
            {
                case "taskQueue.name" or "task_queue.name":
                    into.TaskQueue.Name = (from.TaskQueue ?? throw ServiceException.InvalidArgument("TaskQueue is not provided")).Name;
                    break;
                case "scheduleToCloseTimeout" or "schedule_to_close_timeout":
                    into.ScheduleToCloseTimeout = from.ScheduleToCloseTimeout;
                    break;
                case "scheduleToStartTimeout" or "schedule_to_start_timeout":
                    into.ScheduleToStartTimeout = from.ScheduleToStartTimeout;
                    break;
                case "startToCloseTimeout" or "start_to_close_timeout":
                    into.StartToCloseTimeout = from.StartToCloseTimeout;
                    break;
                case "heartbeatTimeout" or "heartbeat_timeout":
                    into.HeartbeatTimeout = from.HeartbeatTimeout;
                    break;
                case "priority":
                    into.Priority = from.Priority;
                    break;
                case "priority.priorityKey" or "priority.priority_key":
                    (into.Priority ??= new Priority()).PriorityKey = RequirePriority(from).PriorityKey;
                    break;
                case "priority.fairnessKey" or "priority.fairness_key":
                    (into.Priority ??= new Priority()).FairnessKey = RequirePriority(from).FairnessKey;
                    break;
                case "priority.fairnessWeight" or "priority.fairness_weight":
                    (into.Priority ??= new Priority()).FairnessWeight = RequirePriority(from).FairnessWeight;
                    break;
                case "retryPolicy" or "retry_policy":
                    // The activity's non-retryable error types stay; the update sets the intervals and attempts.
                    var types = into.RetryPolicy.NonRetryableErrorTypes.ToList();
                    into.RetryPolicy = RequireRetryPolicy(from).Clone();
                    into.RetryPolicy.NonRetryableErrorTypes.Clear();
                    into.RetryPolicy.NonRetryableErrorTypes.AddRange(types);
                    break;
                case "retryPolicy.initialInterval" or "retry_policy.initial_interval":
                    into.RetryPolicy.InitialInterval = RequireRetryPolicy(from).InitialInterval;
                    break;
                case "retryPolicy.backoffCoefficient" or "retry_policy.backoff_coefficient":
                    into.RetryPolicy.BackoffCoefficient = RequireRetryPolicy(from).BackoffCoefficient;
                    break;
                case "retryPolicy.maximumInterval" or "retry_policy.maximum_interval":
                    into.RetryPolicy.MaximumInterval = RequireRetryPolicy(from).MaximumInterval;
                    break;
                case "retryPolicy.maximumAttempts" or "retry_policy.maximum_attempts":
                    into.RetryPolicy.MaximumAttempts = RequireRetryPolicy(from).MaximumAttempts;
                    break;
                default:
                    throw ServiceException.InvalidArgument($"UpdateMask path {path} is not an activity option that can be updated.");
            }
        }

        return into;
    }

    private static Priority RequirePriority(ActivityOptions from) =>
        from.Priority ?? throw ServiceException.InvalidArgument("Priority is not provided");

    private static RetryPolicy RequireRetryPolicy(ActivityOptions from) =>
        from.RetryPolicy ?? throw ServiceException.InvalidArgument("RetryPolicy is not provided");

    /// <summary>The merged options checked and normalized by the rules of a ScheduleActivityTask command.</summary>
    private static ActivityOptions Normalize(ActivityOptions options, WorkflowState state)
    {
        if (string.IsNullOrEmpty(options.TaskQueue?.Name))
        {
            throw ServiceException.InvalidArgument("TaskQueue is not set on request.");
        }

        foreach (var (value, name) in new[]
        {
            (options.ScheduleToCloseTimeout, "ScheduleToCloseTimeout"), (options.ScheduleToStartTimeout, "ScheduleToStartTimeout"),
            (options.StartToCloseTimeout, "StartToCloseTimeout"), (options.HeartbeatTimeout, "HeartbeatTimeout"),
        })
        {
            if (value is { } d && d.ToTimeSpan() < TimeSpan.Zero)
            {
                throw ServiceException.InvalidArgument($"Invalid {name}: it cannot be negative.");
            }
        }

        if (Positive(options.ScheduleToCloseTimeout) is null && Positive(options.StartToCloseTimeout) is null)
        {
            throw ServiceException.InvalidArgument("A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.");
        }

        if (RetryPolicies.Validate(options.RetryPolicy) is { } problem)
        {
            throw ServiceException.InvalidArgument(problem);
        }

        var (scheduleToClose, scheduleToStart, startToClose, heartbeat) = NormalizeTimeouts(
            options.ScheduleToCloseTimeout, options.ScheduleToStartTimeout, options.StartToCloseTimeout, options.HeartbeatTimeout, state.RunTimeout);
        var normalized = options.Clone();
        normalized.ScheduleToCloseTimeout = ToDuration(scheduleToClose) ?? new Duration();
        normalized.ScheduleToStartTimeout = ToDuration(scheduleToStart) ?? new Duration();
        normalized.StartToCloseTimeout = Duration.FromTimeSpan(startToClose);
        normalized.HeartbeatTimeout = ToDuration(heartbeat) ?? new Duration();
        normalized.RetryPolicy = RetryPolicies.WithDefaults(options.RetryPolicy);
        return normalized;
    }

    /// <summary>
    /// The activity takes the options: its timers are re-armed by the new timeouts, and a queued attempt is queued
    /// again (on the new task queue) — the stale one in matching is refused when polled.
    /// </summary>
    private static ActivityOptions ApplyOptions(Mutation m, ActivityInfo info, ActivityOptions options)
    {
        info.TaskQueue = options.TaskQueue.Name;
        info.ScheduleToCloseTimeout = Positive(options.ScheduleToCloseTimeout);
        info.ScheduleToStartTimeout = Positive(options.ScheduleToStartTimeout);
        info.StartToCloseTimeout = options.StartToCloseTimeout?.ToTimeSpan() ?? info.StartToCloseTimeout;
        info.HeartbeatTimeout = Positive(options.HeartbeatTimeout);
        info.RetryPolicy = options.RetryPolicy?.ToByteArray();
        info.Priority = options.Priority?.ToByteArray();

        m.DeleteTask(TaskKind.ActivityScheduleToCloseTimeout, info.ScheduledEventId, 0);
        if (info.ScheduleToCloseTimeout is { } deadline)
        {
            m.AddTask(TaskKind.ActivityScheduleToCloseTimeout, info.ScheduledEventId, 0, info.FirstScheduledTime + deadline);
        }

        if (info.IsStarted)
        {
            var started = info.StartedTime!.Value;
            m.DeleteTask(TaskKind.ActivityStartToCloseTimeout, info.ScheduledEventId, info.Attempt);
            m.AddTask(TaskKind.ActivityStartToCloseTimeout, info.ScheduledEventId, info.Attempt, started + info.StartToCloseTimeout);
            m.DeleteTask(TaskKind.ActivityHeartbeatTimeout, info.ScheduledEventId, info.Attempt);
            if (info.HeartbeatTimeout is { } heartbeat)
            {
                m.AddTask(TaskKind.ActivityHeartbeatTimeout, info.ScheduledEventId, info.Attempt, (info.LastHeartbeatTime ?? started) + heartbeat);
            }
        }
        else if (!info.Paused)
        {
            WithdrawAttempt(m, info);
            DispatchActivityAttempt(m, info, info.ScheduledTime > m.Now ? info.ScheduledTime : m.Now);
        }

        return options;
    }
}
