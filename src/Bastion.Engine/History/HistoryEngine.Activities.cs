using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Bastion.Engine.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    private static void ScheduleActivity(Mutation m, ScheduleActivityTaskCommandAttributes a, long completedEventId)
    {
        var state = m.State;
        var taskQueue = string.IsNullOrEmpty(a.TaskQueue?.Name) ? state.TaskQueue : a.TaskQueue.Name;

        var (scheduleToClose, scheduleToStart, startToClose, heartbeat) = NormalizeTimeouts(
            a.ScheduleToCloseTimeout, a.ScheduleToStartTimeout, a.StartToCloseTimeout, a.HeartbeatTimeout, state.RunTimeout);
        var attributes = new ActivityTaskScheduledEventAttributes
        {
            ActivityId = a.ActivityId,
            ActivityType = a.ActivityType,
            TaskQueue = new TaskQueue { Name = taskQueue, Kind = TaskQueueKind.Normal },
            Header = a.Header,
            Input = a.Input,
            // Unlimited is an explicit 0s, as Temporal writes it (the TypeScript SDK requires the field).
            ScheduleToCloseTimeout = ToDuration(scheduleToClose) ?? new Duration(),
            ScheduleToStartTimeout = ToDuration(scheduleToStart) ?? new Duration(),
            StartToCloseTimeout = Duration.FromTimeSpan(startToClose),
            HeartbeatTimeout = ToDuration(heartbeat) ?? new Duration(),
            WorkflowTaskCompletedEventId = completedEventId,
            RetryPolicy = RetryPolicies.WithDefaults(a.RetryPolicy),
            Priority = a.Priority,
        };
        TrackActivity(m, m.AddEvent(new HistoryEvent { EventType = EventType.ActivityTaskScheduled, ActivityTaskScheduledEventAttributes = attributes }));
    }

    /// <summary>
    /// Temporal's timeout normalization: schedule-to-close (else the run timeout) bounds the others; start-to-close
    /// defaults to it; heartbeat is bounded by start-to-close. The caller has checked that one of the two is set.
    /// </summary>
    private static (TimeSpan? ScheduleToClose, TimeSpan? ScheduleToStart, TimeSpan StartToClose, TimeSpan? Heartbeat) NormalizeTimeouts(
        Duration? scheduleToCloseTimeout, Duration? scheduleToStartTimeout, Duration? startToCloseTimeout, Duration? heartbeatTimeout, TimeSpan? runTimeout)
    {
        var scheduleToClose = Positive(scheduleToCloseTimeout) ?? runTimeout;
        var startToClose = Positive(startToCloseTimeout) ?? scheduleToClose!.Value;
        var scheduleToStart = Positive(scheduleToStartTimeout) ?? scheduleToClose;
        if (scheduleToClose is { } s2c)
        {
            startToClose = Min(startToClose, s2c);
            scheduleToStart = scheduleToStart is { } s2s ? Min(s2s, s2c) : s2c;
        }

        var heartbeat = Positive(heartbeatTimeout) is { } hb ? Min(hb, startToClose) : (TimeSpan?)null;
        return (scheduleToClose, scheduleToStart, startToClose, heartbeat);
    }

    /// <summary>
    /// The pending activity an ActivityTaskScheduled event stands for, dispatched with its timers. Everything comes
    /// from the event, so a run rebuilt from history (reset) tracks it exactly as the run that wrote it.
    /// </summary>
    private static void TrackActivity(Mutation m, HistoryEvent scheduled)
    {
        var attributes = scheduled.ActivityTaskScheduledEventAttributes;
        var scheduledTime = scheduled.EventTime.ToDateTime();
        var info = new ActivityInfo
        {
            ScheduledEventId = scheduled.EventId,
            ActivityId = attributes.ActivityId,
            ActivityType = attributes.ActivityType.Name,
            TaskQueue = attributes.TaskQueue.Name,
            ScheduledAttributes = attributes.ToByteArray(),
            FirstScheduledTime = scheduledTime,
            ScheduledTime = scheduledTime,
            ScheduleToStartTimeout = Positive(attributes.ScheduleToStartTimeout),
            ScheduleToCloseTimeout = Positive(attributes.ScheduleToCloseTimeout),
            StartToCloseTimeout = attributes.StartToCloseTimeout.ToTimeSpan(),
            HeartbeatTimeout = Positive(attributes.HeartbeatTimeout),
            ScheduledPriority = TaskPriority.From(attributes.Priority) is { IsDefault: false } own ? own : null,
        };
        m.State.Activities[scheduled.EventId] = info;

        // A standalone activity's start delay holds its first attempt back; its schedule-to-close counts from then.
        var firstAttempt = m.Now + (m.State.Standalone?.StartDelay ?? TimeSpan.Zero);
        DispatchActivityAttempt(m, info, firstAttempt);
        if (info.ScheduleToCloseTimeout is { } deadline)
        {
            m.AddTask(TaskKind.ActivityScheduleToCloseTimeout, info.ScheduledEventId, 0, scheduledTime + (firstAttempt - m.Now) + deadline);
        }
    }

    /// <summary>
    /// Queues the activity's current attempt (at <paramref name="visibleTime"/> for a retry) with its schedule-to-start
    /// timer. A paused activity's attempt waits, undispatched, for its unpause; so does any attempt of a paused
    /// workflow, unless an operator unpauses or resets that activity (<paramref name="byOperator"/>), as in Temporal.
    /// </summary>
    private static void DispatchActivityAttempt(Mutation m, ActivityInfo info, DateTime visibleTime, bool byOperator = false)
    {
        info.ScheduledTime = visibleTime;
        info.ReleasedByOperator = byOperator;
        if (info.Paused || (m.State.Pause != null && !byOperator))
        {
            return;
        }

        m.AddTask(TaskKind.ActivityTask, info.ScheduledEventId, info.Attempt, visibleTime, info.TaskQueue);
        if (info.ScheduleToStartTimeout is { } s2s && s2s != info.ScheduleToCloseTimeout)
        {
            m.AddTask(TaskKind.ActivityScheduleToStartTimeout, info.ScheduledEventId, info.Attempt, visibleTime + s2s);
        }
    }

    private static bool RequestCancelActivity(Mutation m, long scheduledEventId, long completedEventId)
    {
        var info = m.State.Activities[scheduledEventId];
        var requested = m.AddEvent(new HistoryEvent
        {
            EventType = EventType.ActivityTaskCancelRequested,
            ActivityTaskCancelRequestedEventAttributes = new() { ScheduledEventId = scheduledEventId, WorkflowTaskCompletedEventId = completedEventId },
        });
        if (info.IsStarted)
        {
            // The worker learns of it from its next heartbeat and answers RespondActivityTaskCanceled.
            info.CancelRequested = true;
            info.CancelRequestedEventId = requested.EventId;
            return false;
        }

        m.AddEvent(new HistoryEvent
        {
            EventType = EventType.ActivityTaskCanceled,
            ActivityTaskCanceledEventAttributes = new()
            {
                ScheduledEventId = scheduledEventId,
                LatestCancelRequestedEventId = requested.EventId,
                Identity = string.Empty,
            },
        });
        RemoveActivity(m, info);
        return true;
    }

    private static void RemoveActivity(Mutation m, ActivityInfo info)
    {
        m.State.Activities.Remove(info.ScheduledEventId);
        m.DeleteTask(TaskKind.ActivityTask, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityScheduleToStartTimeout, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityStartToCloseTimeout, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityHeartbeatTimeout, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityScheduleToCloseTimeout, info.ScheduledEventId, 0);
    }

    /// <summary>Records a polled activity task as started (no event: Temporal writes ActivityTaskStarted at the end).</summary>
    public async Task<PollActivityTaskQueueResponse?> RecordActivityTaskStartedAsync(
        ActivityTaskItem item, PollActivityTaskQueueRequest poll, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(poll);
        try
        {
            return await UpdateAsync(item.Key, m =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                var state = m.State;
                if (!state.IsOpen || !state.Activities.TryGetValue(item.ScheduledEventId, out var info) || info.Attempt != item.Attempt || info.IsStarted)
                {
                    return null;
                }

                // Matching may still hold a task queued before a pause or a move to another task queue: it is stale.
                if (info.Paused || (poll.TaskQueue is { Name.Length: > 0 } polled && polled.Name != info.TaskQueue))
                {
                    return null;
                }

                // A workflow rule may pause the attempt now (an attempt an operator released is left to run); the
                // worker gets nothing and matching drops the task, as in Temporal.
                if (!info.ReleasedByOperator && ApplyWorkflowRules(m, info))
                {
                    return null;
                }

                return StartActivityAttempt(m, info, poll.Identity, poll.Namespace);
            }).ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Starts an activity's current attempt for a worker — one that polled its task queue, or the one whose workflow
    /// task scheduled it and asked to run it at once (eager) — and returns the task as the worker gets it.
    /// </summary>
    private static PollActivityTaskQueueResponse StartActivityAttempt(Mutation m, ActivityInfo info, string identity, string namespaceName)
    {
        var state = m.State;
        info.StartedTime = m.Now;
        info.StartedIdentity = identity;
        info.LastWorkerIdentity = identity;
        info.StartRequestId = Guid.NewGuid().ToString();
        m.DeleteTask(TaskKind.ActivityTask, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityScheduleToStartTimeout, info.ScheduledEventId, info.Attempt);
        m.AddTask(TaskKind.ActivityStartToCloseTimeout, info.ScheduledEventId, info.Attempt, m.Now + info.StartToCloseTimeout);
        if (info.HeartbeatTimeout is { } heartbeat)
        {
            m.AddTask(TaskKind.ActivityHeartbeatTimeout, info.ScheduledEventId, info.Attempt, m.Now + heartbeat);
        }

        var scheduled = ActivityTaskScheduledEventAttributes.Parser.ParseFrom(info.ScheduledAttributes);
        var options = CurrentOptions(info, scheduled);
        var workflow = state.Standalone is null;
        return new PollActivityTaskQueueResponse
        {
            TaskToken = TaskToken.ForActivityTask(m.Context.Key, info.ScheduledEventId, info.Attempt).Encode(),

            // A standalone activity names no workflow, only its own run (the SDKs tell the two apart by this).
            WorkflowNamespace = workflow ? namespaceName : string.Empty,
            WorkflowType = workflow ? new WorkflowType { Name = state.WorkflowType } : null,
            WorkflowExecution = workflow ? new WorkflowExecution { WorkflowId = state.WorkflowId, RunId = state.RunId } : null,
            ActivityRunId = workflow ? string.Empty : state.RunId,
            ActivityType = scheduled.ActivityType,
            ActivityId = info.ActivityId,
            Header = scheduled.Header,
            Input = scheduled.Input,
            HeartbeatDetails = info.HeartbeatDetails is { } details ? Payloads.Parser.ParseFrom(details) : null,
            ScheduledTime = Timestamp.FromDateTime(info.FirstScheduledTime),
            CurrentAttemptScheduledTime = Timestamp.FromDateTime(info.ScheduledTime),
            StartedTime = Timestamp.FromDateTime(m.Now),
            Attempt = info.Attempt,
            ScheduleToCloseTimeout = options.ScheduleToCloseTimeout,
            StartToCloseTimeout = options.StartToCloseTimeout,
            HeartbeatTimeout = options.HeartbeatTimeout,
            RetryPolicy = options.RetryPolicy,
            Priority = options.Priority,
        };
    }

    /// <summary>Finds the started attempt a token or an id names; anything else is NOT_FOUND.</summary>
    private static ActivityInfo RequireStartedActivity(WorkflowState state, ActivityRef target)
    {
        ActivityInfo? info = null;
        if (state.IsOpen)
        {
            info = target.ActivityId is { } id
                ? state.Activities.Values.FirstOrDefault(a => a.ActivityId == id)
                : state.Activities.GetValueOrDefault(target.ScheduledEventId);
        }

        if (info is null || !info.IsStarted || (target.ActivityId is null && info.Attempt != target.Attempt))
        {
            throw ServiceException.NotFound("Activity task not found: it completed, failed, timed out or was retried already.");
        }

        return info;
    }

    /// <summary>An activity as a caller names it: by task token (event id and attempt) or by activity id.</summary>
    internal readonly record struct ActivityRef(WorkflowKey Key, long ScheduledEventId, int Attempt, string? ActivityId)
    {
        public static ActivityRef From(TaskToken token) => new(token.Key, token.ScheduledEventId, token.Attempt, null);
    }

    public Task<RecordActivityTaskHeartbeatResponse> HeartbeatActivityAsync(ActivityRef target, Payloads? details) =>
        UpdateAsync(target.Key, m =>
        {
            var info = RequireStartedActivity(m.State, target);
            info.LastHeartbeatTime = m.Now;
            info.HeartbeatDetails = details?.ToByteArray();
            m.MarkChanged();
            return new RecordActivityTaskHeartbeatResponse
            {
                CancelRequested = info.CancelRequested,
                ActivityPaused = info.Paused,
                ActivityReset = info.ResetRequested,
            };
        });

    public Task CompleteActivityAsync(ActivityRef target, Payloads? result, string identity) =>
        UpdateAsync(target.Key, m =>
        {
            var info = RequireStartedActivity(m.State, target);
            EndActivity(m, info, started => new HistoryEvent
            {
                EventType = EventType.ActivityTaskCompleted,
                ActivityTaskCompletedEventAttributes = new()
                {
                    Result = result,
                    ScheduledEventId = info.ScheduledEventId,
                    StartedEventId = started,
                    Identity = identity,
                },
            });
            return true;
        });

    public Task CancelActivityAsync(ActivityRef target, Payloads? details, string identity) =>
        UpdateAsync(target.Key, m =>
        {
            var info = RequireStartedActivity(m.State, target);
            EndActivity(m, info, started => new HistoryEvent
            {
                EventType = EventType.ActivityTaskCanceled,
                ActivityTaskCanceledEventAttributes = new()
                {
                    Details = details,
                    LatestCancelRequestedEventId = info.CancelRequestedEventId,
                    ScheduledEventId = info.ScheduledEventId,
                    StartedEventId = started,
                    Identity = identity,
                },
            });
            return true;
        });

    /// <summary>A failed attempt: retried per the policy (no event), or the activity fails for good.</summary>
    public Task FailActivityAsync(ActivityRef target, Failure? failure, Payloads? lastHeartbeatDetails, string identity) =>
        UpdateAsync(target.Key, m =>
        {
            var info = RequireStartedActivity(m.State, target);
            if (lastHeartbeatDetails != null)
            {
                info.HeartbeatDetails = lastHeartbeatDetails.ToByteArray();
            }

            var retryState = TryRetryActivity(m, info, failure);
            if (retryState == RetryState.InProgress)
            {
                return true;
            }

            EndActivity(m, info, started => new HistoryEvent
            {
                EventType = EventType.ActivityTaskFailed,
                ActivityTaskFailedEventAttributes = new()
                {
                    Failure = failure,
                    ScheduledEventId = info.ScheduledEventId,
                    StartedEventId = started,
                    Identity = identity,
                    RetryState = retryState,
                },
            });
            return true;
        });

    /// <summary>Schedules the next attempt if the policy allows; returns the retry state.</summary>
    private static RetryState TryRetryActivity(Mutation m, ActivityInfo info, Failure? failure)
    {
        var policy = RetryPolicyOf(info);
        var deadline = info.ScheduleToCloseTimeout is { } s2c ? info.FirstScheduledTime + s2c : (DateTime?)null;

        // A reset counts attempts from 1 again: the attempt that ran when it came is the last of the old count.
        var (delay, retryState) = RetryPolicies.NextDelay(policy, info.ResetAttempts ? 1 : info.Attempt, failure, m.Now, deadline);

        // Workflow rules see the failed attempt before it is retried (Temporal's RetryActivity), as they see it start.
        if (retryState != RetryState.NonRetryableFailure && !info.CancelRequested)
        {
            ApplyWorkflowRules(m, info);
        }

        // As Temporal: a paused activity's retryable failure is held for the unpause, whatever its attempts and deadline.
        if (delay is null && info.Paused && !info.CancelRequested && retryState != RetryState.NonRetryableFailure)
        {
            delay = TimeSpan.Zero;
        }

        if (delay is not { } wait)
        {
            return retryState;
        }

        m.DeleteTask(TaskKind.ActivityStartToCloseTimeout, info.ScheduledEventId, info.Attempt);
        m.DeleteTask(TaskKind.ActivityHeartbeatTimeout, info.ScheduledEventId, info.Attempt);
        info.Attempt = info.ResetAttempts ? 1 : info.Attempt + 1;
        if (info.ResetHeartbeats)
        {
            info.HeartbeatDetails = null;
            info.LastHeartbeatTime = null;
        }

        info.ResetAttempts = info.ResetRequested = info.ResetHeartbeats = false;
        info.StartedTime = null;
        info.StartedIdentity = null;
        info.LastFailure = failure?.ToByteArray();
        info.LastAttemptCompleteTime = m.Now;
        DispatchActivityAttempt(m, info, m.Now + wait);
        return RetryState.InProgress;
    }

    /// <summary>Writes the ActivityTaskStarted event of the final attempt (if it started) and returns its id.</summary>
    private static long AddActivityStarted(Mutation m, ActivityInfo info)
    {
        if (!info.IsStarted)
        {
            return 0;
        }

        var started = new HistoryEvent
        {
            EventType = EventType.ActivityTaskStarted,
            EventTime = Timestamp.FromDateTime(info.StartedTime!.Value),
            ActivityTaskStartedEventAttributes = new()
            {
                ScheduledEventId = info.ScheduledEventId,
                Identity = info.StartedIdentity ?? string.Empty,
                RequestId = info.StartRequestId ?? string.Empty,
                Attempt = info.Attempt,
                LastFailure = info.LastFailure is { } f ? Failure.Parser.ParseFrom(f) : null,
            },
        };

        // While a workflow task runs, both events wait in the buffer; the id is assigned when they are written.
        if (m.State.WorkflowTask is { IsStarted: true })
        {
            m.AddExternalEvent(started, () => { });
            return 0;
        }

        return m.AddEvent(started).EventId;
    }

    /// <summary>An activity timer is due: time the attempt out (retrying when the timeout kind allows) or re-arm.</summary>
    private static void FireActivityTimeout(Mutation m, TaskKind kind, long scheduledEventId, int attempt)
    {
        if (!m.State.IsOpen || !m.State.Activities.TryGetValue(scheduledEventId, out var info))
        {
            return;
        }

        TimeoutType timeoutType;
        switch (kind)
        {
            case TaskKind.ActivityScheduleToStartTimeout when info.Attempt == attempt && !info.IsStarted:
                timeoutType = TimeoutType.ScheduleToStart;
                break;
            case TaskKind.ActivityScheduleToCloseTimeout:
                timeoutType = TimeoutType.ScheduleToClose;
                break;
            case TaskKind.ActivityStartToCloseTimeout when info.Attempt == attempt && info.IsStarted:
                timeoutType = TimeoutType.StartToClose;
                break;
            case TaskKind.ActivityHeartbeatTimeout when info.Attempt == attempt && info.IsStarted:
                var last = info.LastHeartbeatTime ?? info.StartedTime!.Value;
                var due = last + info.HeartbeatTimeout!.Value;
                if (due > m.Now)
                {
                    m.DeleteTask(TaskKind.ActivityHeartbeatTimeout, scheduledEventId, attempt);
                    m.AddTask(TaskKind.ActivityHeartbeatTimeout, scheduledEventId, attempt, due);
                    return;
                }

                timeoutType = TimeoutType.Heartbeat;
                break;
            default:
                return; // Stale: the attempt this timer watched is over.
        }

        var failure = new Failure
        {
            Message = $"activity {TimeoutName(timeoutType)} timeout",
            Source = "Server",
            TimeoutFailureInfo = new TimeoutFailureInfo
            {
                TimeoutType = timeoutType,
                LastHeartbeatDetails = info.HeartbeatDetails is { } details ? Payloads.Parser.ParseFrom(details) : null,
            },
        };
        if (info.LastFailure is { } previous && timeoutType is not (TimeoutType.StartToClose or TimeoutType.Heartbeat))
        {
            failure.Cause = Failure.Parser.ParseFrom(previous);
        }

        var retryState = RetryState.Timeout;
        if (timeoutType is TimeoutType.StartToClose or TimeoutType.Heartbeat)
        {
            retryState = TryRetryActivity(m, info, failure);
            if (retryState == RetryState.InProgress)
            {
                return;
            }
        }

        EndActivity(m, info, started => new HistoryEvent
        {
            EventType = EventType.ActivityTaskTimedOut,
            ActivityTaskTimedOutEventAttributes = new()
            {
                Failure = failure,
                ScheduledEventId = info.ScheduledEventId,
                StartedEventId = started,
                RetryState = retryState,
            },
        });
    }

    /// <summary>
    /// The activity is over: its ActivityTaskStarted event (if it started), then the outcome event built from the
    /// started event id, delivered by a workflow task; its tasks are dropped.
    /// </summary>
    private static void EndActivity(Mutation m, ActivityInfo info, Func<long, HistoryEvent> outcome)
    {
        var started = AddActivityStarted(m, info);
        if (m.State.Standalone is { } standalone)
        {
            var ended = m.AddEvent(outcome(started));
            RemoveActivity(m, info);
            FinishStandalone(m, standalone, info, ended);
            return;
        }

        m.AddExternalEvent(outcome(started), () => ScheduleWorkflowTask(m));
        RemoveActivity(m, info);
    }

    private static string TimeoutName(TimeoutType type) => type switch
    {
        TimeoutType.ScheduleToStart => "ScheduleToStart",
        TimeoutType.ScheduleToClose => "ScheduleToClose",
        TimeoutType.StartToClose => "StartToClose",
        TimeoutType.Heartbeat => "Heartbeat",
        _ => type.ToString(),
    };

    /// <summary>Resolves an activity named by workflow and activity id (the ById forms).</summary>
    public async Task<ActivityRef> ResolveActivityAsync(string namespaceId, string workflowId, string? runId, string activityId)
    {
        if (string.IsNullOrEmpty(activityId))
        {
            throw ServiceException.InvalidArgument("ActivityId is not set on request.");
        }

        // No workflow id: the standalone activity of that id (its run id, if given, names the run).
        var key = string.IsNullOrEmpty(workflowId)
            ? await ResolveStandaloneAsync(namespaceId, activityId, runId).ConfigureAwait(false)
            : await ResolveAsync(namespaceId, workflowId, runId).ConfigureAwait(false);
        return new ActivityRef(key, 0, 0, activityId);
    }

    private static TimeSpan? Positive(Duration? d) => d is { } x && x.ToTimeSpan() > TimeSpan.Zero ? x.ToTimeSpan() : null;

    private static Duration? ToDuration(TimeSpan? t) => t is { } x ? Duration.FromTimeSpan(x) : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
