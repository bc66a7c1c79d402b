using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Bastion.Engine.Tasks;
using Bastion.Engine.Visibility;
using Bastion.Storage.Telemetry;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    /// <summary>
    /// Completes the running workflow task: writes WorkflowTaskCompleted and one event per command. Invalid
    /// commands fail the task instead (nothing of them is written) and the worker gets INVALID_ARGUMENT.
    /// </summary>
    public async Task<RespondWorkflowTaskCompletedResponse> RespondWorkflowTaskCompletedAsync(
        TaskToken token, RespondWorkflowTaskCompletedRequest request, QueueKey normalQueue)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(request);
        var outcome = await UpdateAsync(
            token.Key,
            m => CompleteWorkflowTask(m, token, request),
            (context, result) =>
            {
                if (result.Response?.ActivityTasks.Count is > 0 and var eager)
                {
                    var (ns, taskQueue) = RunTags(context.State);
                    ServerMetrics.ActivityEagerExecution.Add(eager, ns, taskQueue);
                }

                if (result.Failure is null && result.NewTaskStarted)
                {
                    var response = result.Response ?? new RespondWorkflowTaskCompletedResponse();
                    response.WorkflowTask = BuildWorkflowTaskResponse(context, normalQueue with { Name = context.State.WorkflowTask!.TaskQueue });
                    return result with { Response = response };
                }

                return result;
            }).ConfigureAwait(false);
        if (outcome.Failure is { } message)
        {
            throw ServiceException.InvalidArgument(message);
        }

        return outcome.Response ?? new RespondWorkflowTaskCompletedResponse();
    }

    private sealed record CompletionOutcome(string? Failure, bool NewTaskStarted, RespondWorkflowTaskCompletedResponse? Response);

    private CompletionOutcome CompleteWorkflowTask(Mutation m, TaskToken token, RespondWorkflowTaskCompletedRequest request)
    {
        var state = m.State;
        var task = RequireStartedTask(state, token);
        if (state.Pause != null && request.ForceCreateNewWorkflowTask)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, "Workflow is paused and force create new workflow task is not allowed.");
        }

        AnswerBufferedQueries(m.Context, request.QueryResults);
        var invalid = CommandValidator.Validate(
            state,
            request.Commands,
            name => _namespaces.TryResolve(name, out var entry) && entry!.Id == state.NamespaceId,
            _limits);
        invalid ??= SearchAttributeProblem(state.NamespaceId, request.Commands);
        if (invalid is null && state.BufferedEvents.Count > 0 && request.Commands.Any(c => CommandValidator.IsTerminal(c.CommandType)))
        {
            invalid = (WorkflowTaskFailedCause.UnhandledCommand, "The workflow has new events to handle before it can close.");
        }

        if (invalid is { } failure)
        {
            FailWorkflowTask(
                m,
                new HistoryEvent
                {
                    EventType = EventType.WorkflowTaskFailed,
                    WorkflowTaskFailedEventAttributes = new()
                    {
                        ScheduledEventId = task.ScheduledEventId,
                        StartedEventId = task.StartedEventId,
                        Cause = failure.Cause,
                        Failure = WorkflowTaskFailure(failure.Message),
                        Identity = request.Identity,
                    },
                },
                countsAsAttempt: failure.Cause != WorkflowTaskFailedCause.UnhandledCommand);
            return new CompletionOutcome(failure.Message, false, null);
        }

        ApplyStickyAttributes(state, request.StickyAttributes);
        if (task.Speculative && IsOnlyRejections(request) && state.BufferedEvents.Count == 0)
        {
            // Temporal drops a speculative task that only rejected updates: history stays as if it never ran.
            foreach (var message in request.Messages)
            {
                ApplyUpdateMessage(m, message);
            }

            ClearWorkflowTask(m, task);
            m.MarkChanged();
            RejectUnansweredUpdates(m);
            if (m.Context.Updates.Values.Any(u => u.Stage == UpdateStage.Admitted))
            {
                ScheduleWorkflowTask(m, speculative: true);
            }
            else if (state.LastCompletedStartedEventId == 0)
            {
                // A first task (an update's, during a start delay) dropped this way: the run waits out the rest of
                // its delay (its timer is still set), or gets its first task now if the delay is over.
                state.AwaitingStartDelay = m.Now < state.ExecutionTime;
                ScheduleWorkflowTask(m);
            }

            // The worker rolls its cached workflow back to the last task that is on record.
            return new CompletionOutcome(null, false, new RespondWorkflowTaskCompletedResponse { ResetHistoryEventId = state.LastCompletedStartedEventId });
        }

        if (task.Transient)
        {
            // The attempt completed: its scheduled and started events become history now.
            WriteTransientEvents(m, task);
        }

        var completed = m.AddEvent(new HistoryEvent
        {
            EventType = EventType.WorkflowTaskCompleted,
            WorkflowTaskCompletedEventAttributes = CompletedAttributes(task, request),
        });
        ClearWorkflowTask(m, task);
        state.WorkflowTaskFailures = 0;
        state.LastCompletedStartedEventId = task.StartedEventId;
        RecordVersioning(state, request);

        var needsNewTask = request.ForceCreateNewWorkflowTask;
        var messages = request.Messages.ToDictionary(msg => msg.Id, StringComparer.Ordinal);
        foreach (var command in request.Commands)
        {
            if (command.ProtocolMessageCommandAttributes is { } protocol)
            {
                // The message's events go where the worker placed the command among the others.
                if (messages.Remove(protocol.MessageId, out var message))
                {
                    ApplyUpdateMessage(m, message);
                }

                continue;
            }

            var firstEvent = m.Events.Count;
            needsNewTask |= ApplyCommand(m, command, completed.EventId);
            if (command.UserMetadata is { } metadata && m.Events.Count > firstEvent)
            {
                // The summary and details of a command ride the event it writes, as in Temporal.
                m.Events[firstEvent].UserMetadata = metadata;
                state.HistorySizeBytes += metadata.CalculateSize();
            }

            if (!state.IsOpen)
            {
                break;
            }
        }

        foreach (var message in request.Messages.Where(msg => messages.ContainsKey(msg.Id)))
        {
            ApplyUpdateMessage(m, message);
        }

        RejectUnansweredUpdates(m);
        if (!state.IsOpen)
        {
            AbortUpdates(m);
            return new CompletionOutcome(null, false, null);
        }

        var eager = StartEagerActivities(m, request, completed.EventId);
        needsNewTask |= m.FlushBufferedEvents();
        var onlyUpdates = !needsNewTask && m.Context.Updates.Values.Any(u => u.Stage == UpdateStage.Admitted);
        if (!needsNewTask && !onlyUpdates)
        {
            return new CompletionOutcome(null, false, eager);
        }

        ScheduleWorkflowTask(m, speculative: onlyUpdates);
        if (request.ReturnNewWorkflowTask && state.WorkflowTask is { } next)
        {
            // Hand the new task straight back to the worker that asked for it, as Temporal does.
            StartWorkflowTask(m, next.ScheduledEventId, next.Attempt, request.Identity, "request-from-RespondWorkflowTaskCompleted");
            return new CompletionOutcome(null, true, eager);
        }

        return new CompletionOutcome(null, false, eager);
    }

    /// <summary>
    /// Eager activities, as Temporal's history service starts them once all of a completion's commands are applied:
    /// each activity this completion scheduled whose command asked for it — and that is still pending, not paused (nor
    /// its workflow), and not paused by a workflow rule now — starts at once for the completing worker, and its task goes
    /// back in the response, never through matching. Off with <see cref="EngineLimits.EagerActivities"/>; not for a
    /// workflow on worker versioning (its activities go to the version matching picks) nor for a task queue whose rate
    /// is limited by its configuration.
    /// </summary>
    private RespondWorkflowTaskCompletedResponse? StartEagerActivities(Mutation m, RespondWorkflowTaskCompletedRequest request, long completedEventId)
    {
        var state = m.State;
        if (!_limits.EagerActivities || state.Pause is not null || state.Versioning is not null)
        {
            return null;
        }

        RespondWorkflowTaskCompletedResponse? response = null;
        Dictionary<string, ActivityInfo>? scheduledHere = null;
        foreach (var command in request.Commands)
        {
            if (command.ScheduleActivityTaskCommandAttributes is not { RequestEagerExecution: true } attributes)
            {
                continue;
            }

            // The activity this completion scheduled under that id, if it is still pending (one pass over the pending
            // activities, not one per command: a completion may schedule hundreds).
            if (scheduledHere is null)
            {
                scheduledHere = new Dictionary<string, ActivityInfo>(StringComparer.Ordinal);
                foreach (var pending in state.Activities.Values)
                {
                    if (pending.ScheduledEventId > completedEventId)
                    {
                        scheduledHere.TryAdd(pending.ActivityId, pending);
                    }
                }
            }

            var info = scheduledHere.GetValueOrDefault(attributes.ActivityId);
            // A queue with a configured rate limit (UpdateTaskQueueConfig) has its tasks paced by matching: not eager.
            if (info is null || info.IsStarted || info.Paused || Matching.ConfiguredRate?.Invoke(state.NamespaceId, info.TaskQueue) is not null
                || ApplyWorkflowRules(m, info))
            {
                continue;
            }

            response ??= new RespondWorkflowTaskCompletedResponse();
            response.ActivityTasks.Add(StartActivityAttempt(m, info, request.Identity, request.Namespace));
        }

        return response;
    }

    /// <summary>
    /// WorkflowTaskCompleted as Temporal writes it: with the worker's build id (its version stamp) and deployment, so
    /// a worker replaying the history later sees the build id each task ran on (the SDKs' CurrentBuildId).
    /// </summary>
    private static WorkflowTaskCompletedEventAttributes CompletedAttributes(PendingWorkflowTask task, RespondWorkflowTaskCompletedRequest request)
    {
        var options = request.DeploymentOptions;
        var versioned = options?.WorkerVersioningMode == WorkerVersioningMode.Versioned;
#pragma warning disable CS0612, CS0618 // The version stamp and Deployment are deprecated, but SDKs send them and replay reads them.
        var deploymentName = string.IsNullOrEmpty(options?.DeploymentName) ? request.Deployment?.SeriesName ?? string.Empty : options.DeploymentName;
        return new WorkflowTaskCompletedEventAttributes
        {
            ScheduledEventId = task.ScheduledEventId,
            StartedEventId = task.StartedEventId,
            Identity = request.Identity,
            BinaryChecksum = request.BinaryChecksum,
            WorkerVersion = request.WorkerVersionStamp,
            SdkMetadata = request.SdkMetadata,
            MeteringMetadata = request.MeteringMetadata,
            WorkerDeploymentName = deploymentName,
            DeploymentVersion = versioned && !string.IsNullOrEmpty(options!.BuildId)
                ? new Temporalio.Api.Deployment.V1.WorkerDeploymentVersion { DeploymentName = options.DeploymentName, BuildId = options.BuildId }
                : null,
            VersioningBehavior = versioned ? request.VersioningBehavior : VersioningBehavior.Unspecified,
        };
#pragma warning restore CS0612, CS0618
    }

    /// <summary>
    /// The run's versioning after a completed task, as Temporal's history records it: a versioned worker's behavior
    /// and version; an unversioned worker's completion clears both (the run is unversioned again).
    /// </summary>
    private static void RecordVersioning(WorkflowState state, RespondWorkflowTaskCompletedRequest request)
    {
        var options = request.DeploymentOptions;
        var versioned = options?.WorkerVersioningMode == WorkerVersioningMode.Versioned && !string.IsNullOrEmpty(options.BuildId);
        if (!versioned && state.Versioning is null)
        {
            return;
        }

        var versioning = state.Versioning ??= new WorkflowVersioning();
        versioning.Behavior = versioned ? (int)request.VersioningBehavior : 0;
        versioning.DeploymentName = versioned ? options!.DeploymentName : null;
        versioning.BuildId = versioned ? options!.BuildId : null;
        if (versioned)
        {
            // The first task has run: what the run inherited or asked for at its start has done its part.
            versioning.InheritedDeploymentName = null;
            versioning.InheritedBuildId = null;
        }

        if (versioning.IsEmpty)
        {
            state.Versioning = null;
        }
    }

    private static void ApplyStickyAttributes(WorkflowState state, StickyExecutionAttributes? sticky)
    {
        if (sticky?.WorkerTaskQueue is { Name.Length: > 0 } stickyQueue)
        {
            state.StickyQueue = stickyQueue.Name;
            state.StickyScheduleToStartTimeout = sticky.ScheduleToStartTimeout is { } timeout && timeout.ToTimeSpan() > TimeSpan.Zero
                ? timeout.ToTimeSpan()
                : TimeSpan.FromSeconds(10);
        }
        else
        {
            state.StickyQueue = null;
        }
    }

    /// <summary>A completion with no commands whose messages all reject updates.</summary>
    private static bool IsOnlyRejections(RespondWorkflowTaskCompletedRequest request) =>
        request.Commands.Count == 0
        && !request.ForceCreateNewWorkflowTask
        && request.Messages.All(msg => msg.Body?.Is(Temporalio.Api.Update.V1.Rejection.Descriptor) == true);

    /// <summary>Applies one validated command; true if it needs a new workflow task to report its outcome.</summary>
    private bool ApplyCommand(Mutation m, Command command, long completedEventId)
    {
        switch (command.AttributesCase)
        {
            case Command.AttributesOneofCase.ScheduleActivityTaskCommandAttributes:
                ScheduleActivity(m, command.ScheduleActivityTaskCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.RequestCancelActivityTaskCommandAttributes:
                return RequestCancelActivity(m, command.RequestCancelActivityTaskCommandAttributes.ScheduledEventId, completedEventId);
            case Command.AttributesOneofCase.StartTimerCommandAttributes:
                StartTimer(m, command.StartTimerCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.CancelTimerCommandAttributes:
                CancelTimer(m, command.CancelTimerCommandAttributes.TimerId, completedEventId);
                return false;
            case Command.AttributesOneofCase.RecordMarkerCommandAttributes:
                var marker = command.RecordMarkerCommandAttributes;
                m.AddEvent(new HistoryEvent
                {
                    EventType = EventType.MarkerRecorded,
                    MarkerRecordedEventAttributes = new()
                    {
                        MarkerName = marker.MarkerName,
                        Details = { marker.Details },
                        Header = marker.Header,
                        Failure = marker.Failure,
                        WorkflowTaskCompletedEventId = completedEventId,
                    },
                });
                return false;
            case Command.AttributesOneofCase.CompleteWorkflowExecutionCommandAttributes:
                var result = command.CompleteWorkflowExecutionCommandAttributes.Result;
                var cronRunId = ScheduleNextCronRun(m, result, null);
                CloseWorkflow(m, new HistoryEvent
                {
                    EventType = EventType.WorkflowExecutionCompleted,
                    WorkflowExecutionCompletedEventAttributes = new()
                    {
                        Result = result,
                        WorkflowTaskCompletedEventId = completedEventId,
                        NewExecutionRunId = cronRunId ?? string.Empty,
                    },
                });
                return false;
            case Command.AttributesOneofCase.FailWorkflowExecutionCommandAttributes:
                var failure = command.FailWorkflowExecutionCommandAttributes.Failure;
                var (retryState, nextRunId) = RetryWorkflow(m, failure, timedOut: false);
                nextRunId ??= ScheduleNextCronRun(m, null, failure);
                CloseWorkflow(m, new HistoryEvent
                {
                    EventType = EventType.WorkflowExecutionFailed,
                    WorkflowExecutionFailedEventAttributes = new()
                    {
                        Failure = failure,
                        RetryState = retryState,
                        WorkflowTaskCompletedEventId = completedEventId,
                        NewExecutionRunId = nextRunId ?? string.Empty,
                    },
                });
                return false;
            case Command.AttributesOneofCase.CancelWorkflowExecutionCommandAttributes:
                CloseWorkflow(m, new HistoryEvent
                {
                    EventType = EventType.WorkflowExecutionCanceled,
                    WorkflowExecutionCanceledEventAttributes = new()
                    {
                        Details = command.CancelWorkflowExecutionCommandAttributes.Details,
                        WorkflowTaskCompletedEventId = completedEventId,
                    },
                });
                return false;
            case Command.AttributesOneofCase.SignalExternalWorkflowExecutionCommandAttributes:
                SignalExternal(m, command.SignalExternalWorkflowExecutionCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.RequestCancelExternalWorkflowExecutionCommandAttributes:
                CancelExternal(m, command.RequestCancelExternalWorkflowExecutionCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.UpsertWorkflowSearchAttributesCommandAttributes:
                var upsert = command.UpsertWorkflowSearchAttributesCommandAttributes.SearchAttributes;
                UpsertSearchAttributes(m.State, upsert);
                m.AddEvent(new HistoryEvent
                {
                    EventType = EventType.UpsertWorkflowSearchAttributes,
                    UpsertWorkflowSearchAttributesEventAttributes = new() { SearchAttributes = upsert, WorkflowTaskCompletedEventId = completedEventId },
                });
                return false;
            case Command.AttributesOneofCase.ModifyWorkflowPropertiesCommandAttributes:
                var memo = command.ModifyWorkflowPropertiesCommandAttributes.UpsertedMemo;
                UpsertMemo(m.State, memo);
                m.AddEvent(new HistoryEvent
                {
                    EventType = EventType.WorkflowPropertiesModified,
                    WorkflowPropertiesModifiedEventAttributes = new() { UpsertedMemo = memo, WorkflowTaskCompletedEventId = completedEventId },
                });
                return false;
            case Command.AttributesOneofCase.StartChildWorkflowExecutionCommandAttributes:
                StartChild(m, command.StartChildWorkflowExecutionCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.ScheduleNexusOperationCommandAttributes:
                ScheduleNexus(m, command.ScheduleNexusOperationCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.RequestCancelNexusOperationCommandAttributes:
                CancelNexus(m, command.RequestCancelNexusOperationCommandAttributes, completedEventId);
                return false;
            case Command.AttributesOneofCase.ContinueAsNewWorkflowExecutionCommandAttributes:
                ContinueAsNew(m, command.ContinueAsNewWorkflowExecutionCommandAttributes, completedEventId);
                return false;
            default:
                throw new InvalidOperationException($"Command {command.CommandType} passed validation but has no handler.");
        }
    }

    /// <summary>Closes the run with its terminal event: no more tasks, readers of the close event are woken.</summary>
    private static void CloseWorkflow(Mutation m, HistoryEvent closeEvent)
    {
        var state = m.State;
        if (state.Standalone is { Outcome: null } standalone)
        {
            RecordTermination(standalone, state, closeEvent);
        }

        var close = m.AddEvent(closeEvent);
        AddCloseNotifications(m, close.EventId, continuesAsNew: m.NextRun != null);
        state.CloseEventId = close.EventId;
        state.CloseTime = m.Now;
        state.Status = closeEvent.EventType switch
        {
            EventType.WorkflowExecutionCompleted => (int)WorkflowExecutionStatus.Completed,
            EventType.WorkflowExecutionFailed => (int)WorkflowExecutionStatus.Failed,
            EventType.WorkflowExecutionTimedOut => (int)WorkflowExecutionStatus.TimedOut,
            EventType.WorkflowExecutionTerminated => (int)WorkflowExecutionStatus.Terminated,
            EventType.WorkflowExecutionCanceled => (int)WorkflowExecutionStatus.Canceled,
            EventType.WorkflowExecutionContinuedAsNew => (int)WorkflowExecutionStatus.ContinuedAsNew,
            _ => throw new InvalidOperationException($"{closeEvent.EventType} does not close a workflow."),
        };
        state.WorkflowTask = null;
        state.StickyQueue = null;
        state.BufferedEvents.Clear();
        AbortUpdates(m);
        m.DeleteAllTasks = true;
    }

    private static void StartTimer(Mutation m, StartTimerCommandAttributes attributes, long completedEventId) =>
        TrackTimer(m, m.AddEvent(new HistoryEvent
        {
            EventType = EventType.TimerStarted,
            TimerStartedEventAttributes = new()
            {
                TimerId = attributes.TimerId,
                StartToFireTimeout = attributes.StartToFireTimeout,
                WorkflowTaskCompletedEventId = completedEventId,
            },
        }));

    /// <summary>The pending timer a TimerStarted event stands for, with its durable alarm.</summary>
    private static void TrackTimer(Mutation m, HistoryEvent started)
    {
        var attributes = started.TimerStartedEventAttributes;
        var fireTime = started.EventTime.ToDateTime() + attributes.StartToFireTimeout.ToTimeSpan();
        m.State.Timers[attributes.TimerId] = new TimerInfo { TimerId = attributes.TimerId, StartedEventId = started.EventId, FireTime = fireTime };
        m.AddTask(TaskKind.UserTimer, started.EventId, 0, fireTime);
    }

    private static void CancelTimer(Mutation m, string timerId, long completedEventId)
    {
        var timer = m.State.Timers[timerId];
        m.State.Timers.Remove(timerId);
        m.DeleteTask(TaskKind.UserTimer, timer.StartedEventId, 0);
        m.AddEvent(new HistoryEvent
        {
            EventType = EventType.TimerCanceled,
            TimerCanceledEventAttributes = new()
            {
                TimerId = timerId,
                StartedEventId = timer.StartedEventId,
                WorkflowTaskCompletedEventId = completedEventId,
            },
        });
    }

    /// <summary>A user timer is due: TimerFired, and a workflow task to deliver it.</summary>
    private static void FireUserTimer(Mutation m, long startedEventId)
    {
        var timer = m.State.Timers.Values.FirstOrDefault(t => t.StartedEventId == startedEventId);
        if (timer is null || !m.State.IsOpen)
        {
            return; // Canceled, or the run closed: nothing to do.
        }

        m.State.Timers.Remove(timer.TimerId);
        m.DeleteTask(TaskKind.UserTimer, startedEventId, 0);
        m.AddExternalEvent(
            new HistoryEvent
            {
                EventType = EventType.TimerFired,
                TimerFiredEventAttributes = new() { TimerId = timer.TimerId, StartedEventId = startedEventId },
            },
            () => ScheduleWorkflowTask(m));
    }

    /// <summary>Upserts keys into a map of payloads; a key set to a null payload is removed.</summary>
    private static void UpsertSearchAttributes(WorkflowState state, SearchAttributes upsert) =>
        state.SearchAttributes = Merge(
            state.SearchAttributes is { } current ? SearchAttributes.Parser.ParseFrom(current).IndexedFields : null,
            upsert.IndexedFields,
            SearchAttributeValues.IsUnset,
            f => new SearchAttributes { IndexedFields = { f } }.ToByteArray());

    /// <summary>Memo changes from the workflow: a key set to null (no payload data) is removed.</summary>
    private static void UpsertMemo(WorkflowState state, Memo upsert) =>
        state.Memo = Merge(
            state.Memo is { } current ? Memo.Parser.ParseFrom(current).Fields : null,
            upsert.Fields,
            IsNullPayload,
            f => new Memo { Fields = { f } }.ToByteArray());

    private static byte[] Merge(
        IDictionary<string, Payload>? current,
        IDictionary<string, Payload> changes,
        Func<Payload, bool> removes,
        Func<IDictionary<string, Payload>, byte[]> serialize)
    {
        var merged = current is null ? new Dictionary<string, Payload>(StringComparer.Ordinal) : new Dictionary<string, Payload>(current, StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            if (removes(value))
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        return serialize(merged);
    }

    private static bool IsNullPayload(Payload payload) =>
        payload.Data.IsEmpty && payload.Metadata.TryGetValue("encoding", out var encoding) && encoding.ToStringUtf8() == "binary/null";

    private static Timestamp? ToTimestamp(DateTime? time) => time is { } t ? Timestamp.FromDateTime(t) : null;
}
