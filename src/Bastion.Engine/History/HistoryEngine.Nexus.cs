using Bastion.Engine.Nexus;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Workflow.V1;

namespace Bastion.Engine.History;

/// <summary>
/// The caller's side of Nexus operations (Temporal's <c>components/nexusoperations</c> state machine): the
/// ScheduleNexusOperation command writes the Scheduled event, a start task and the schedule-to-close timer; each start
/// attempt asks <see cref="NexusCaller"/> and records the answer — Completed, Started (async), Failed, Canceled — or,
/// for a retryable handler error, the next attempt after a back-off; the timer ends it TimedOut.
/// </summary>
internal sealed partial class HistoryEngine
{
    private static readonly TimeSpan s_nexusMaxBackoff = TimeSpan.FromMinutes(1);

    /// <summary>The caller side's way to handlers (set at start; absent, every operation fails as not configured).</summary>
    internal NexusCaller? NexusCalls { get; set; }

    private static void ScheduleNexus(Mutation m, ScheduleNexusOperationCommandAttributes a, long completedEventId)
    {
        var timeout = Positive(a.ScheduleToCloseTimeout);
        var scheduled = m.AddEvent(new HistoryEvent
        {
            EventType = EventType.NexusOperationScheduled,
            NexusOperationScheduledEventAttributes = new()
            {
                Endpoint = a.Endpoint,
                Service = a.Service,
                Operation = a.Operation,
                Input = a.Input,
                ScheduleToCloseTimeout = a.ScheduleToCloseTimeout,
                ScheduleToStartTimeout = a.ScheduleToStartTimeout,
                StartToCloseTimeout = a.StartToCloseTimeout,
                NexusHeader = { a.NexusHeader },
                WorkflowTaskCompletedEventId = completedEventId,
                RequestId = Guid.NewGuid().ToString(),
            },
        });
        TrackNexus(m, scheduled, timeout);
    }

    /// <summary>The pending operation a Scheduled event stands for, with its first start task and its timer.</summary>
    private static void TrackNexus(Mutation m, HistoryEvent scheduled, TimeSpan? timeout)
    {
        var a = scheduled.NexusOperationScheduledEventAttributes;
        var scheduledTime = scheduled.EventTime?.ToDateTime() ?? m.Now;
        m.State.NexusOperations[scheduled.EventId] = new NexusOperationInfo
        {
            ScheduledEventId = scheduled.EventId,
            Endpoint = a.Endpoint,
            Service = a.Service,
            Operation = a.Operation,
            RequestId = a.RequestId,
            ScheduledTime = scheduledTime,
            ScheduleToCloseTimeout = timeout,
        };
        m.AddTask(TaskKind.NexusOperationStart, scheduled.EventId, 1, m.Now);
        if (timeout is { } t)
        {
            m.AddTask(TaskKind.NexusOperationScheduleToCloseTimeout, scheduled.EventId, 0, scheduledTime + t);
        }

        if (Positive(a.ScheduleToStartTimeout) is { } toStart)
        {
            m.AddTask(TaskKind.NexusOperationScheduleToStartTimeout, scheduled.EventId, 0, scheduledTime + toStart);
        }

        m.State.NexusOperations[scheduled.EventId].StartToCloseTimeout = Positive(a.StartToCloseTimeout);
    }

    /// <summary>The NexusOperationStart task: one attempt, then its outcome recorded in the caller's run.</summary>
    private async Task StartNexusOperationAsync(TaskRecord task)
    {
        var key = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var call = await ReadAsync(key, c => c.State.IsOpen && c.State.NexusOperations.TryGetValue(task.EventId, out var op) && op.Attempt == task.Attempt && op.OperationToken is null
            ? CallOf(c, op)
            : null).ConfigureAwait(false);
        NexusStartOutcome? outcome = null;
        if (call is not null)
        {
            outcome = NexusCalls is { } calls
                ? await calls.StartAsync(call, CancellationToken.None).ConfigureAwait(false)
                : new NexusStartOutcome.HandlerFailed(new Failure { Message = "Nexus is not configured on this server", NexusHandlerFailureInfo = new() { Type = "NOT_IMPLEMENTED" } }, Retryable: false);
        }

        await UpdateAsync(key, m =>
        {
            m.DeleteTask(TaskKind.NexusOperationStart, task.EventId, task.Attempt);
            if (outcome is not null && m.State.IsOpen && m.State.NexusOperations.TryGetValue(task.EventId, out var op) && op.Attempt == task.Attempt && op.OperationToken is null)
            {
                RecordNexusStart(m, op, outcome);
            }

            return true;
        }).ConfigureAwait(false);
    }

    private NexusStartCall CallOf(WorkflowContext c, NexusOperationInfo op)
    {
        var scheduled = EventsOf(c)[(int)op.ScheduledEventId - 1].NexusOperationScheduledEventAttributes;
        // The handler's deadline: no later than the first of the operation's schedule-to-close and schedule-to-start ends
        // (a handler still running when the operation timed out would only learn of it from its own timeout).
        var remaining = op.ScheduleToCloseTimeout is { } timeout ? op.ScheduledTime + timeout - Now : (TimeSpan?)null;
        if (Positive(scheduled.ScheduleToStartTimeout) is { } toStart && (remaining is null || op.ScheduledTime + toStart - Now < remaining))
        {
            remaining = op.ScheduledTime + toStart - Now;
        }

        return new NexusStartCall(c.Key.NamespaceId, c.Key.WorkflowId, c.Key.RunId, op.ScheduledEventId, op.Endpoint, op.Service, op.Operation, op.RequestId, scheduled.Input, scheduled.NexusHeader, op.ScheduledTime, remaining)
        {
            StandaloneOperationId = c.State.NexusOperationId,
        };
    }

    private static void RecordNexusStart(Mutation m, NexusOperationInfo op, NexusStartOutcome outcome)
    {
        switch (outcome)
        {
            case NexusStartOutcome.Completed completed:
                EndNexus(m, new HistoryEvent
                {
                    EventType = EventType.NexusOperationCompleted,
                    NexusOperationCompletedEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, Result = completed.Result, RequestId = op.RequestId },
                }, op);
                break;
            case NexusStartOutcome.Started started:
                op.OperationToken = started.OperationToken;
                m.DeleteTask(TaskKind.NexusOperationScheduleToStartTimeout, op.ScheduledEventId, 0);
                if (op.StartToCloseTimeout is { } toClose)
                {
                    m.AddTask(TaskKind.NexusOperationStartToCloseTimeout, op.ScheduledEventId, 0, m.Now + toClose);
                }

                op.LastAttemptCompleteTime = m.Now;
                op.LastAttemptFailure = null;
                op.NextAttemptScheduleTime = null;
                if (op.CancelRequestedEventId != 0)
                {
                    // A standalone operation asked to cancel before it started: the request can go now.
                    m.AddTask(TaskKind.NexusOperationCancel, op.ScheduledEventId, 1, m.Now);
                }

                var startedEvent = new HistoryEvent
                {
                    EventType = EventType.NexusOperationStarted,
                    NexusOperationStartedEventAttributes = new()
                    {
                        ScheduledEventId = op.ScheduledEventId,
#pragma warning disable CS0612 // Deprecated, but SDKs before operation tokens read it.
                        OperationId = started.OperationToken,
#pragma warning restore CS0612
                        OperationToken = started.OperationToken,
                        RequestId = op.RequestId,
                    },
                };
                startedEvent.Links.AddRange(started.Links.Select(NexusLinks.FromNexus).OfType<Temporalio.Api.Common.V1.Link>());
                m.AddExternalEvent(startedEvent, () => ScheduleWorkflowTask(m));
                break;
            case NexusStartOutcome.Unsuccessful unsuccessful:
                EndNexusUnsuccessfully(m, op, unsuccessful.Failure, unsuccessful.Canceled);
                break;
            case NexusStartOutcome.HandlerFailed { Retryable: true } retry:
                op.LastAttemptFailure = retry.Failure.ToByteArray();
                op.LastAttemptCompleteTime = m.Now;
                var backoff = TimeSpan.FromSeconds(Math.Min(s_nexusMaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(op.Attempt - 1, 10))));
                op.Attempt++;
                op.NextAttemptScheduleTime = m.Now + backoff;
                m.AddTask(TaskKind.NexusOperationStart, op.ScheduledEventId, op.Attempt, m.Now + backoff);
                m.MarkChanged();
                break;
            case NexusStartOutcome.HandlerFailed failed:
                EndNexusUnsuccessfully(m, op, failed.Failure, canceled: false);
                break;
        }
    }

    /// <summary>The operation failed or was canceled: Temporal's NexusOperationFailureInfo around the handler's failure.</summary>
    private static void EndNexusUnsuccessfully(Mutation m, NexusOperationInfo op, Failure cause, bool canceled)
    {
        var failure = NexusFailure(op, "nexus operation completed unsuccessfully", cause);
        EndNexus(m, canceled
            ? new HistoryEvent
            {
                EventType = EventType.NexusOperationCanceled,
                NexusOperationCanceledEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, Failure = failure, RequestId = op.RequestId },
            }
            : new HistoryEvent
            {
                EventType = EventType.NexusOperationFailed,
                NexusOperationFailedEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, Failure = failure, RequestId = op.RequestId },
            },
            op);
    }

    /// <summary>One of the operation's timers fired (schedule-to-close, schedule-to-start, start-to-close): it times out wherever it is.</summary>
    private static void TimeOutNexus(Mutation m, TaskKind timer, long scheduledEventId)
    {
        m.DeleteTask(timer, scheduledEventId, 0);
        if (!m.State.NexusOperations.TryGetValue(scheduledEventId, out var op))
        {
            return;
        }

        m.DeleteTask(TaskKind.NexusOperationStart, scheduledEventId, op.Attempt);
        var type = timer switch
        {
            TaskKind.NexusOperationScheduleToStartTimeout => TimeoutType.ScheduleToStart,
            TaskKind.NexusOperationStartToCloseTimeout => TimeoutType.StartToClose,
            _ => TimeoutType.ScheduleToClose,
        };
        var cause = new Failure { Message = "operation timed out", TimeoutFailureInfo = new TimeoutFailureInfo { TimeoutType = type } };
        EndNexus(m, new HistoryEvent
        {
            EventType = EventType.NexusOperationTimedOut,
            NexusOperationTimedOutEventAttributes = new() { ScheduledEventId = op.ScheduledEventId, Failure = NexusFailure(op, "nexus operation completed unsuccessfully", cause), RequestId = op.RequestId },
        }, op);
    }

    /// <summary>The operation's outcome event; it is no longer pending and its timer goes.</summary>
    private static void EndNexus(Mutation m, HistoryEvent outcome, NexusOperationInfo op)
    {
        m.State.NexusOperations.Remove(op.ScheduledEventId);
        m.DeleteTask(TaskKind.NexusOperationScheduleToCloseTimeout, op.ScheduledEventId, 0);
        m.DeleteTask(TaskKind.NexusOperationScheduleToStartTimeout, op.ScheduledEventId, 0);
        m.DeleteTask(TaskKind.NexusOperationStartToCloseTimeout, op.ScheduledEventId, 0);
        if (m.State.NexusOperationId is not null)
        {
            CloseOperationRun(m, outcome);
            return;
        }

        m.AddExternalEvent(outcome, () => ScheduleWorkflowTask(m));
    }

    private static Failure NexusFailure(NexusOperationInfo op, string message, Failure cause) => new()
    {
        Message = message,
        Cause = cause,
        NexusOperationExecutionFailureInfo = new NexusOperationFailureInfo
        {
            ScheduledEventId = op.ScheduledEventId,
            Endpoint = op.Endpoint,
            Service = op.Service,
            Operation = op.Operation,
#pragma warning disable CS0612 // Deprecated, but SDKs before operation tokens read it.
            OperationId = op.OperationToken ?? string.Empty,
#pragma warning restore CS0612
            OperationToken = op.OperationToken ?? string.Empty,
        },
    };

    /// <summary>The run's pending Nexus operations, as DescribeWorkflowExecution shows them.</summary>
    private static IEnumerable<PendingNexusOperationInfo> PendingNexusOf(WorkflowState s) =>
        s.NexusOperations.Values.OrderBy(o => o.ScheduledEventId).Select(o => new PendingNexusOperationInfo
        {
            Endpoint = o.Endpoint,
            Service = o.Service,
            Operation = o.Operation,
#pragma warning disable CS0612 // Deprecated, but SDKs before operation tokens read it.
            OperationId = o.OperationToken ?? string.Empty,
#pragma warning restore CS0612
            OperationToken = o.OperationToken ?? string.Empty,
            ScheduleToCloseTimeout = o.ScheduleToCloseTimeout is { } t ? Duration.FromTimeSpan(t) : null,
            ScheduledTime = Timestamp.FromDateTime(DateTime.SpecifyKind(o.ScheduledTime, DateTimeKind.Utc)),
            State = o.OperationToken is not null ? PendingNexusOperationState.Started
                : o.NextAttemptScheduleTime is not null ? PendingNexusOperationState.BackingOff
                : PendingNexusOperationState.Scheduled,
            Attempt = o.Attempt,
            LastAttemptCompleteTime = o.LastAttemptCompleteTime is { } last ? Timestamp.FromDateTime(DateTime.SpecifyKind(last, DateTimeKind.Utc)) : null,
            LastAttemptFailure = o.LastAttemptFailure is { } f ? Failure.Parser.ParseFrom(f) : null,
            NextAttemptScheduleTime = o.NextAttemptScheduleTime is { } next ? Timestamp.FromDateTime(DateTime.SpecifyKind(next, DateTimeKind.Utc)) : null,
            ScheduledEventId = o.ScheduledEventId,
        });
}
