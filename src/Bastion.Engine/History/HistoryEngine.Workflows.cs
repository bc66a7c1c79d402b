using Bastion.Engine.Errors;
using Bastion.Storage;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    private const int MaxRememberedSignalRequestIds = 200;

    public Task SignalAsync(WorkflowKey key, SignalWorkflowExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return UpdateAsync(key, m =>
        {
            var state = m.State;
            RequireOpen(state);
            if (!string.IsNullOrEmpty(request.RequestId))
            {
                if (state.SignalRequestIds.Contains(request.RequestId))
                {
                    return false; // Already applied: a retried signal is acknowledged, not repeated.
                }

                state.SignalRequestIds.Add(request.RequestId);
                if (state.SignalRequestIds.Count > MaxRememberedSignalRequestIds)
                {
                    state.SignalRequestIds.RemoveAt(0);
                }
            }

            m.AddExternalEvent(
                new HistoryEvent
                {
                    EventType = EventType.WorkflowExecutionSignaled,
                    WorkflowExecutionSignaledEventAttributes = new()
                    {
                        SignalName = request.SignalName,
                        Input = request.Input,
                        Identity = request.Identity,
                        Header = request.Header,
                    },

                    // A Nexus handler's signal links back to the caller's operation (Temporal records the request's links here).
                    Links = { request.Links },
                },
                () => ScheduleWorkflowTask(m));
            return true;
        });
    }

    /// <summary>
    /// Asks the workflow to cancel: WorkflowExecutionCancelRequested, delivered by a workflow task; the workflow
    /// decides what to do (clean up, then CancelWorkflowExecution). Asking again is acknowledged, not repeated; asking
    /// a run that has closed is acknowledged and changes nothing, as in Temporal (so a workflow's request to cancel
    /// another that already finished is recorded as requested, not failed).
    /// </summary>
    public Task RequestCancelAsync(WorkflowKey key, RequestCancelWorkflowExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return UpdateAsync(key, m =>
        {
            var state = m.State;
            if (!state.IsOpen || state.CancelRequested)
            {
                return false;
            }

            state.CancelRequested = true;
            state.CancelRequestId = request.RequestId;
            m.AddExternalEvent(
                new HistoryEvent
                {
                    EventType = EventType.WorkflowExecutionCancelRequested,
                    WorkflowExecutionCancelRequestedEventAttributes = new() { Cause = request.Reason, Identity = request.Identity },
                },
                () => ScheduleWorkflowTask(m));
            return true;
        });
    }

    public Task TerminateAsync(WorkflowKey key, string reason, Payloads? details, string identity) => UpdateAsync(key, m =>
    {
        RequireOpen(m.State);
        m.FlushBufferedEvents();
        CloseWorkflow(m, new HistoryEvent
        {
            EventType = EventType.WorkflowExecutionTerminated,
            WorkflowExecutionTerminatedEventAttributes = new() { Reason = reason, Details = details, Identity = identity },
        });
        return true;
    });

    /// <summary>Deletes a run and everything stored for it, terminating it first if it is still running.</summary>
    public async Task DeleteAsync(WorkflowKey key)
    {
        try
        {
            await TerminateAsync(key, "deleted", null, "bastion").ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            // Already closed (delete as it is) or never existed (the lock below says so).
        }

        var context = await LockAsync(key).ConfigureAwait(false);
        try
        {
            await DeleteLockedRunAsync(key, context).ConfigureAwait(false);
        }
        finally
        {
            context.Lock.Release();
        }
    }

    /// <summary>Removes a run the caller holds the lock of, in one write, and forgets it.</summary>
    private async Task DeleteLockedRunAsync(WorkflowKey key, WorkflowContext context)
    {
        var state = context.State;
        _shards.EnsureOwned(context.ShardId);
        try
        {
            await _committer.CommitAsync(
            [
                new Storage.ExecutionWrite
                {
                    ShardId = context.ShardId,
                    RangeId = _shards.RangeOf(context.ShardId),
                    NamespaceId = state.NamespaceId,
                    WorkflowId = WorkflowIdIndex(state.NamespaceId, state.WorkflowId),
                    RunId = state.RunId,
                    ExpectedVersion = context.Version,
                    NewVersion = context.Version + 1,
                    Status = state.Status,
                    State = [],
                    DeletesRun = true,
                },
            ]).ConfigureAwait(false);
        }
        catch (Storage.ShardOwnershipLostException e)
        {
            LoseShard(e.ShardId);
            throw ShardController.Unavailable(e.ShardId);
        }

        _runs.TryRemove((key.NamespaceId, key.RunId), out _);
        _currentRuns.TryRemove(new KeyValuePair<(string, string), string>((key.NamespaceId, key.WorkflowId), key.RunId));
        context.NotifyChanged();
    }

    private static void RequireOpen(WorkflowState state)
    {
        if (!state.IsOpen)
        {
            throw ServiceException.WorkflowCompleted();
        }
    }

    /// <summary>A consistent snapshot of a run, read under its lock.</summary>
    public async Task<T> ReadAsync<T>(WorkflowKey key, Func<WorkflowContext, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var context = await LockAsync(key).ConfigureAwait(false);
        try
        {
            return read(context);
        }
        finally
        {
            context.Lock.Release();
        }
    }

    public Task<DescribeWorkflowExecutionResponse> DescribeAsync(WorkflowKey key) => ReadAsync(key, context =>
    {
        var s = context.State;
        var response = new DescribeWorkflowExecutionResponse
        {
            ExecutionConfig = new WorkflowExecutionConfig
            {
                TaskQueue = new TaskQueue { Name = s.TaskQueue, Kind = TaskQueueKind.Normal },
                WorkflowExecutionTimeout = ToDuration(s.ExecutionTimeout),
                WorkflowRunTimeout = ToDuration(s.RunTimeout),
                DefaultWorkflowTaskTimeout = Duration.FromTimeSpan(s.TaskTimeout),
                UserMetadata = s.UserMetadata is { } metadata ? Temporalio.Api.Sdk.V1.UserMetadata.Parser.ParseFrom(metadata) : null,
            },
            WorkflowExecutionInfo = ExecutionInfoOf(s),

            // SDKs read the cancel request here (their tests check a Nexus handler's run was, or was not, asked to cancel).
            WorkflowExtendedInfo = new WorkflowExecutionExtendedInfo
            {
                CancelRequested = s.CancelRequested,
                ExecutionExpirationTime = ToTimestamp(s.ExpirationTime),
                PauseInfo = s.Pause is { } paused && s.IsOpen
                    ? new WorkflowExecutionPauseInfo { Identity = paused.Identity, Reason = paused.Reason, PausedTime = Timestamp.FromDateTime(paused.Time) }
                    : null,
            },
        };
        foreach (var a in s.Activities.Values.OrderBy(a => a.ScheduledEventId))
        {
            var scheduled = ActivityTaskScheduledEventAttributes.Parser.ParseFrom(a.ScheduledAttributes);
            var options = CurrentOptions(a, scheduled);
            response.PendingActivities.Add(new PendingActivityInfo
            {
                ActivityId = a.ActivityId,
                ActivityType = new ActivityType { Name = a.ActivityType },

                // Temporal's states of a paused activity: PAUSED while no attempt runs, PAUSE_REQUESTED while one does.
                State = a.CancelRequested ? PendingActivityState.CancelRequested
                    : a.IsStarted ? (a.Paused ? PendingActivityState.PauseRequested : PendingActivityState.Started)
                    : a.Paused ? PendingActivityState.Paused : PendingActivityState.Scheduled,
                Paused = a.Paused,
                PauseInfo = a.Pause is { } pause ? PauseInfoOf(pause) : null,
                ActivityOptions = options,
                Priority = options.Priority,
                HeartbeatDetails = a.HeartbeatDetails is { } d ? Payloads.Parser.ParseFrom(d) : null,
                LastHeartbeatTime = ToTimestamp(a.LastHeartbeatTime),
                LastStartedTime = ToTimestamp(a.StartedTime),
                Attempt = a.Attempt,
                MaximumAttempts = options.RetryPolicy?.MaximumAttempts ?? 0,
                ScheduledTime = Timestamp.FromDateTime(a.ScheduledTime),
                ExpirationTime = a.ScheduleToCloseTimeout is { } s2c ? Timestamp.FromDateTime(a.FirstScheduledTime + s2c) : null,
                LastFailure = a.LastFailure is { } f ? Failure.Parser.ParseFrom(f) : null,
                LastWorkerIdentity = a.LastWorkerIdentity ?? string.Empty,
            });
        }

        response.PendingNexusOperations.AddRange(PendingNexusOf(s));
        foreach (var child in s.Children.Values.Where(c => c.RunId != null).OrderBy(c => c.InitiatedEventId))
        {
            response.PendingChildren.Add(new PendingChildExecutionInfo
            {
                WorkflowId = child.WorkflowId,
                RunId = child.RunId,
                WorkflowTypeName = child.WorkflowType,
                InitiatedId = child.InitiatedEventId,
                ParentClosePolicy = (ParentClosePolicy)child.ParentClosePolicy,
            });
        }

        if (s.WorkflowTask is { } wt)
        {
            response.PendingWorkflowTask = new PendingWorkflowTaskInfo
            {
                State = wt.IsStarted ? PendingWorkflowTaskState.Started : PendingWorkflowTaskState.Scheduled,
                ScheduledTime = Timestamp.FromDateTime(wt.ScheduledTime),
                OriginalScheduledTime = Timestamp.FromDateTime(wt.ScheduledTime),
                StartedTime = ToTimestamp(wt.StartedTime),
                Attempt = wt.Attempt,
            };
        }

        return response;
    });

    /// <summary>
    /// One page of a run's history from <paramref name="fromEventId"/>. With <paramref name="wait"/>, waits (up to
    /// <paramref name="maxWait"/>) for events past the page or, with <paramref name="closeOnly"/>, for the close event.
    /// Returns the events and the next event id to ask for (0 when the history is complete). <paramref name="endEarly"/>
    /// ends the wait as its time running out would (a stopping server).
    /// </summary>
    /// <summary>How many calls wait on the cached runs of <paramref name="workflowId"/> with an audit record to ride (diagnostics and tests).</summary>
    internal int HistoryWaiters(string workflowId) => _runs.Values.Where(c => c.Key.WorkflowId == workflowId).Sum(c => c.WaiterCount);

    public async Task<(List<HistoryEvent> Events, long NextEventId)> ReadHistoryAsync(
        WorkflowKey key, long fromEventId, int pageSize, bool wait, bool closeOnly, TimeSpan maxWait, CancellationToken cancellationToken, CancellationToken endEarly = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, endEarly);
        timeout.CancelAfter(maxWait);
        while (true)
        {
            var context = await GetContextAsync(key).ConfigureAwait(false);
            var changed = context.Changed;
            var page = await ReadAsync(key, c =>
            {
                var s = c.State;
                var events = EventsOf(c);
                if (closeOnly)
                {
                    return s.IsOpen ? null : (new List<HistoryEvent> { events[(int)s.CloseEventId - 1] }, 0L);
                }

                var last = s.NextEventId - 1;
                if (fromEventId > last)
                {
                    return s.IsOpen ? ((List<HistoryEvent>, long)?)null : (new List<HistoryEvent>(), 0L);
                }

                var count = (int)Math.Min(pageSize, last - fromEventId + 1);
                var slice = events.GetRange((int)fromEventId - 1, count);
                var next = fromEventId + count;
                return (slice, next > last && (!s.IsOpen || !wait) ? 0 : next);
            }).ConfigureAwait(false);

            if (page is { } result)
            {
                return result;
            }

            if (!wait)
            {
                return ([], 0);
            }

            // The caller's audit record (if not yet written) rides the commit that wakes it.
            var record = PendingAudit.Ambient;
            if (record is not null)
            {
                context.AddWaiter(record, closeOnly);
            }

            try
            {
                await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return ([], fromEventId); // Long poll ended: an empty page and a token to continue with.
            }
            finally
            {
                if (record is not null)
                {
                    context.RemoveWaiter(record);
                }
            }
        }
    }

    /// <summary>Who paused an activity: an operator (<c>manual</c>) or a workflow rule (<c>rule</c>, with its creator and description).</summary>
    private static PendingActivityInfo.Types.PauseInfo PauseInfoOf(PauseInfo pause)
    {
        var shown = new PendingActivityInfo.Types.PauseInfo { PauseTime = Timestamp.FromDateTime(pause.Time) };
        if (pause.RuleId is { } ruleId)
        {
            shown.Rule = new PendingActivityInfo.Types.PauseInfo.Types.Rule { RuleId = ruleId, Identity = pause.Identity, Reason = pause.Reason };
        }
        else
        {
            shown.Manual = new PendingActivityInfo.Types.PauseInfo.Types.Manual { Identity = pause.Identity, Reason = pause.Reason };
        }

        return shown;
    }
}
