using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Bastion.Engine.Tasks;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    /// <summary>
    /// Schedules a workflow task unless one is pending (on the sticky queue when the run has one). A speculative
    /// task only carries updates: see <see cref="PendingWorkflowTask.Speculative"/>.
    /// </summary>
    private static void ScheduleWorkflowTask(Mutation m, bool speculative = false)
    {
        var state = m.State;
        if (state.WorkflowTask != null || !state.IsOpen || state.AwaitingStartDelay || state.IsHidden || state.Pause != null)
        {
            // (A standalone activity's or Nexus operation's run has no workflow to run: what reaches it is only
            // recorded. A paused workflow gets its task at the unpause.)
            return;
        }

        var sticky = state.StickyQueue != null;
        var queue = sticky ? state.StickyQueue! : state.TaskQueue;
        var attempt = state.WorkflowTaskFailures + 1;
        var task = new PendingWorkflowTask
        {
            ScheduledEventId = state.NextEventId,
            Attempt = attempt,
            TaskQueue = queue,
            Sticky = sticky,
            ScheduledTime = m.Now,
            StartToCloseTimeout = state.TaskTimeout,
            Transient = attempt > 1 || speculative,
            Speculative = speculative && attempt == 1,
        };
        if (!task.Transient)
        {
            m.AddEvent(task.ScheduledEvent(state.TaskQueue));
        }

        state.WorkflowTask = task;
        m.AddTask(TaskKind.WorkflowTask, task.ScheduledEventId, attempt, m.Now, queue);
        if (sticky)
        {
            m.AddTask(TaskKind.WorkflowTaskScheduleToStartTimeout, task.ScheduledEventId, attempt, m.Now + state.StickyScheduleToStartTimeout);
        }
    }

    /// <summary>Starts the pending workflow task; false if the task the caller holds is no longer current.</summary>
    private bool StartWorkflowTask(Mutation m, long scheduledEventId, int attempt, string identity, string requestId)
    {
        var task = m.State.WorkflowTask;
        if (task is null || task.IsStarted || task.ScheduledEventId != scheduledEventId || task.Attempt != attempt)
        {
            return false;
        }

        // A transient attempt's scheduled id is still the next id (any new event would have written it), so its
        // started id follows it; a written task's started event takes the next id, after what came in between.
        task.StartedEventId = task.Transient ? task.ScheduledEventId + 1 : m.State.NextEventId;
        task.StartedTime = m.Now;
        task.StartedIdentity = identity;
        task.StartedRequestId = requestId;
        task.StartedHistorySize = m.State.HistorySizeBytes;
        task.StartedSuggestContinueAsNew = SuggestContinueAsNewReasons(m.State, task.StartedEventId);
        task.StartedTargetVersionChanged = WorkflowVersioning.TargetChanged(m.State.Versioning, Deployments, m.State.NamespaceId, m.State.TaskQueue, m.State.WorkflowId);
        if (!task.Transient)
        {
            m.AddEvent(task.StartedEvent());
        }

        m.DeleteTask(TaskKind.WorkflowTask, scheduledEventId, attempt);
        if (task.Sticky)
        {
            m.DeleteTask(TaskKind.WorkflowTaskScheduleToStartTimeout, scheduledEventId, attempt);
        }

        m.AddTask(TaskKind.WorkflowTaskStartToCloseTimeout, scheduledEventId, attempt, m.Now + task.StartToCloseTimeout);
        return true;
    }

    /// <summary>
    /// Temporal's continue-as-new suggestion for a task starting now: the history (counted up to its started event)
    /// has reached the suggestion thresholds (dynamic config <c>limit.historyCount.suggestContinueAsNew</c>,
    /// <c>limit.historySize.suggestContinueAsNew</c>).
    /// </summary>
    private List<SuggestContinueAsNewReason> SuggestContinueAsNewReasons(WorkflowState state, long startedEventId)
    {
        var reasons = new List<SuggestContinueAsNewReason>();
        if (state.HistorySizeBytes >= _limits.HistorySizeSuggestContinueAsNew)
        {
            reasons.Add(SuggestContinueAsNewReason.HistorySizeTooLarge);
        }

        if (startedEventId >= _limits.HistoryCountSuggestContinueAsNew)
        {
            reasons.Add(SuggestContinueAsNewReason.TooManyHistoryEvents);
        }

        return reasons;
    }

    /// <summary>Ends the running workflow task as failed (or timed out), drops stickiness and schedules a retry.</summary>
    private static void FailWorkflowTask(Mutation m, HistoryEvent failedOrTimedOut, bool countsAsAttempt = true)
    {
        var task = m.State.WorkflowTask!;
        if (task.Speculative)
        {
            // A first attempt's failure is on record: the speculative task becomes a normal one first.
            WriteTransientEvents(m, task);
        }

        if (!task.Transient)
        {
            m.AddEvent(failedOrTimedOut); // a retry attempt's failure leaves no trace, as in Temporal
        }

        ClearWorkflowTask(m, task);
        ResendUpdates(m.Context);
        if (countsAsAttempt)
        {
            m.State.WorkflowTaskFailures++;
        }

        m.State.StickyQueue = null;
        m.FlushBufferedEvents();
        ScheduleWorkflowTask(m);
    }

    /// <summary>A transient or speculative task's scheduled (and started) events become history, at the ids they were shown with.</summary>
    private static void WriteTransientEvents(Mutation m, PendingWorkflowTask task)
    {
        task.Transient = false;
        task.Speculative = false;
        m.AddEvent(task.ScheduledEvent(m.State.TaskQueue));
        if (task.IsStarted)
        {
            m.AddEvent(task.StartedEvent());
        }
    }

    private static void ClearWorkflowTask(Mutation m, PendingWorkflowTask task)
    {
        m.DeleteTask(TaskKind.WorkflowTaskStartToCloseTimeout, task.ScheduledEventId, task.Attempt);
        m.DeleteTask(TaskKind.WorkflowTask, task.ScheduledEventId, task.Attempt);
        if (task.Sticky)
        {
            m.DeleteTask(TaskKind.WorkflowTaskScheduleToStartTimeout, task.ScheduledEventId, task.Attempt);
        }

        m.State.WorkflowTask = null;
    }

    /// <summary>Validates a workflow task token against the run: the task must be the one running now.</summary>
    private static PendingWorkflowTask RequireStartedTask(WorkflowState state, TaskToken token)
    {
        var task = state.WorkflowTask;
        if (!state.IsOpen || task is null || !task.IsStarted || task.ScheduledEventId != token.ScheduledEventId || task.Attempt != token.Attempt)
        {
            throw ServiceException.NotFound("Workflow task not found: it completed, failed or timed out already.");
        }

        return task;
    }

    /// <summary>Records a polled workflow task as started and builds the poll response.</summary>
    public async Task<PollWorkflowTaskQueueResponse?> RecordWorkflowTaskStartedAsync(
        WorkflowTaskItem item, PollWorkflowTaskQueueRequest poll, QueueKey queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(poll);
        var requestId = Guid.NewGuid().ToString();
        try
        {
            return await UpdateAsync(
                item.Key,
                m =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return StartWorkflowTask(m, item.ScheduledEventId, item.Attempt, poll.Identity, requestId);
                },
                (context, started) => started ? BuildWorkflowTaskResponse(context, queue) : null).ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            return null; // The run is gone: the item was stale.
        }
    }

    /// <summary>Events in a workflow task's first page of history (Temporal's default page size).</summary>
    internal const int TaskHistoryPageSize = 256;

    /// <summary>
    /// The next page of a workflow task's history, bounded by the task's token; the last page ends with the
    /// transient task's events if that attempt is still the one running.
    /// </summary>
    public Task<(List<HistoryEvent> Events, HistoryPageToken? Next)> ReadTaskHistoryPageAsync(WorkflowKey key, HistoryPageToken token, int pageSize)
    {
        ArgumentNullException.ThrowIfNull(token);
        return ReadAsync(key, context =>
        {
            var events = EventsOf(context);
            var last = Math.Min(token.LastEventId, events.Count);
            var count = (int)Math.Clamp(last - token.NextEventId + 1, 0, pageSize);
            var page = count > 0 ? events.GetRange((int)token.NextEventId - 1, count) : [];
            var next = token.NextEventId + count;
            if (next <= last)
            {
                return (page, (HistoryPageToken?)(token with { NextEventId = next }));
            }

            if (context.State.WorkflowTask is { Transient: true, IsStarted: true } task
                && task.ScheduledEventId == token.TransientScheduledEventId && task.Attempt == token.TransientAttempt)
            {
                page.Add(task.ScheduledEvent(context.State.TaskQueue));
                page.Add(task.StartedEvent());
            }

            return (page, null);
        });
    }

    /// <summary>The poll response for the run's started workflow task: partial history on its sticky queue.</summary>
    private PollWorkflowTaskQueueResponse BuildWorkflowTaskResponse(WorkflowContext context, QueueKey queue)
    {
        var state = context.State;
        var task = state.WorkflowTask!;
        var fromSticky = task.Sticky && queue.Name == task.TaskQueue;
        var first = fromSticky ? state.LastCompletedStartedEventId + 1 : 1;
        // A transient attempt's scheduled and started events are shown to the worker, written only if it completes.
        var lastStored = task.Transient ? task.ScheduledEventId - 1 : task.StartedEventId;
        var events = EventsOf(context);
        var history = new Temporalio.Api.History.V1.History();
        HistoryPageToken? nextPage = null;
        if (lastStored - first + 1 > TaskHistoryPageSize)
        {
            // Long histories go in pages, as Temporal sends them: the worker reads the rest with the token.
            history.Events.AddRange(events.GetRange((int)first - 1, TaskHistoryPageSize));
            nextPage = new HistoryPageToken(
                state.RunId, first + TaskHistoryPageSize, lastStored, task.Transient ? task.ScheduledEventId : 0, task.Transient ? task.Attempt : 0);
        }
        else
        {
            history.Events.AddRange(events.GetRange((int)first - 1, (int)(lastStored - first + 1)));
            if (task.Transient)
            {
                history.Events.Add(task.ScheduledEvent(state.TaskQueue));
                history.Events.Add(task.StartedEvent());
            }
        }

        var response = new PollWorkflowTaskQueueResponse
        {
            TaskToken = TaskToken.ForWorkflowTask(context.Key, task.ScheduledEventId, task.Attempt).Encode(),
            WorkflowExecution = new WorkflowExecution { WorkflowId = state.WorkflowId, RunId = state.RunId },
            WorkflowType = new WorkflowType { Name = state.WorkflowType },
            PreviousStartedEventId = state.LastCompletedStartedEventId,
            StartedEventId = task.StartedEventId,
            Attempt = task.Attempt,
            BacklogCountHint = Matching.BacklogCount(queue),
            History = history,
            NextPageToken = nextPage?.Encode() ?? Google.Protobuf.ByteString.Empty,
            WorkflowExecutionTaskQueue = new TaskQueue { Name = state.TaskQueue, Kind = TaskQueueKind.Normal },
            ScheduledTime = Timestamp.FromDateTime(task.ScheduledTime),
            StartedTime = Timestamp.FromDateTime(task.StartedTime!.Value),
        };
        AttachUpdateMessages(context, task.StartedEventId, response.Messages);
        AttachBufferedQueries(context, response.Queries);
        return response;
    }

    public Task<RespondWorkflowTaskFailedResponse> RespondWorkflowTaskFailedAsync(TaskToken token, RespondWorkflowTaskFailedRequest request)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(request);
        return UpdateAsync(token.Key, m =>
        {
            var task = RequireStartedTask(m.State, token);
            FailWorkflowTask(m, new HistoryEvent
            {
                EventType = EventType.WorkflowTaskFailed,
                WorkflowTaskFailedEventAttributes = new()
                {
                    ScheduledEventId = task.ScheduledEventId,
                    StartedEventId = task.StartedEventId,
                    Cause = request.Cause,
                    Failure = request.Failure,
                    Identity = request.Identity,
                },
            });
            return new RespondWorkflowTaskFailedResponse();
        });
    }

    /// <summary>Moves stickiness off a run (if it is on <paramref name="onlyQueue"/>, when given): pending sticky work goes to the normal queue.</summary>
    public Task ResetStickyAsync(WorkflowKey key, string? onlyQueue = null) => UpdateAsync(key, m =>
    {
        var state = m.State;
        if (state.StickyQueue is null || (onlyQueue != null && state.StickyQueue != onlyQueue))
        {
            return false;
        }

        state.StickyQueue = null;
        m.MarkChanged();
        if (state.WorkflowTask is { IsStarted: false, Sticky: true } task)
        {
            // Same scheduled event and attempt: whichever queue a worker takes it from, it starts once.
            m.AddTask(TaskKind.WorkflowTask, task.ScheduledEventId, task.Attempt, m.Now, state.TaskQueue);
        }

        return true;
    });

    /// <summary>A worker with a sticky queue shut down: its runs lose stickiness, their pending tasks move.</summary>
    public async Task ShutdownStickyQueueAsync(string namespaceId, string stickyQueue)
    {
        var runs = new HashSet<WorkflowKey>();
        if (_stickyRuns.TryRemove((namespaceId, stickyQueue), out var known))
        {
            runs.UnionWith(known.Keys);
        }

        // Items already queued there too (runs made sticky before a restart are not in the index).
        var drained = Matching.Drain(new QueueKey(namespaceId, stickyQueue, TaskCategory.Workflow));
        runs.UnionWith(drained.Select(i => i.Key));
        foreach (var key in runs)
        {
            try
            {
                await ResetStickyAsync(key, stickyQueue).ConfigureAwait(false);
                foreach (var query in drained.OfType<QueryTaskItem>().Where(q => q.Key == key))
                {
                    var normal = await ReadAsync(key, c => c.State.TaskQueue).ConfigureAwait(false);
                    Enqueue(new QueueKey(namespaceId, normal, TaskCategory.Workflow), query, front: true, task: null);
                }
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
            {
                // The run is gone; nothing to move.
            }
        }
    }

    private static Failure WorkflowTaskFailure(string message) => new() { Message = message, ApplicationFailureInfo = new() };
}
