using System.Globalization;
using System.Text.Json;
using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Schedule.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Schedules;

internal sealed partial class ScheduleEngine
{
    public const string ScheduledByIdAttribute = "TemporalScheduledById";
    public const string ScheduledStartTimeAttribute = "TemporalScheduledStartTime";
    private const int RecentActionsKept = 10;
    private const int FutureActionTimesDescribed = 10;
    private const int FutureActionTimesListed = 5;
    private static readonly TimeSpan s_defaultCatchupWindow = TimeSpan.FromDays(365);

    /// <summary>
    /// Brings a schedule up to now: observes the workflows it started, turns the nominal times that came due into
    /// buffered starts (or counts them missed: paused, out of actions, outside the catch-up window), starts what
    /// the overlap policies allow, commits, and sets the alarm for the next time. Called holding the lock.
    /// </summary>
    private async Task<long> ProcessAsync(string namespaceId, ScheduleState s, long version)
    {
        var now = Now;
        var info = s.Described.Info;
        var schedule = s.Described.Schedule;
        await ObserveRunningAsync(namespaceId, s).ConfigureAwait(false);
        var spec = ScheduleSpecCompiler.Compile(schedule.Spec);
        var catchup = schedule.Policies?.CatchupWindow?.ToTimeSpan() is { } w && w > TimeSpan.Zero ? w : s_defaultCatchupWindow;
        var processed = s.LastProcessed;
        while (spec.GetNextTime(s.ScheduleId, processed) is { } due && due.Next <= now)
        {
            processed = due.Nominal;
            if (!CanTakeScheduledAction(schedule.State))
            {
                continue;
            }

            if (now - due.Next > catchup)
            {
                info.MissedCatchupWindow++;
                continue;
            }

            s.Buffer.Add(new BufferedStart(due.Nominal, due.Next, OverlapPolicy(schedule), Manual: false));
        }

        // A nominal time already past but whose jittered time is not yet due stays unprocessed.
        s.LastProcessed = spec.GetNextTime(s.ScheduleId, processed) is { } pending && pending.Nominal <= now ? processed : Max(processed, now);
        version = await DrainBufferAsync(namespaceId, s, version).ConfigureAwait(false);
        info.BufferSize = s.Buffer.Count;
        info.FutureActionTimes.Clear(); // computed when read (FutureActionTimes)
        version = await SaveAsync(namespaceId, s, version).ConfigureAwait(false);
        if (spec.GetNextTime(s.ScheduleId, s.LastProcessed) is { } next)
        {
            Wake(namespaceId, s.ScheduleId, next.Next - Now);
        }

        return version;
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static ScheduleOverlapPolicy OverlapPolicy(Schedule schedule) =>
        schedule.Policies?.OverlapPolicy is { } p && p != ScheduleOverlapPolicy.Unspecified ? p : ScheduleOverlapPolicy.Skip;

    /// <summary>
    /// Whether a scheduled (not manual) action may be taken: not while paused or out of remaining actions. Checked
    /// when a time comes due and again when its start leaves the buffer; the budget is spent only by a start that
    /// happens (<see cref="StartActionAsync"/>), so starts skipped by the overlap policy do not count, as in Temporal.
    /// </summary>
    private static bool CanTakeScheduledAction(Temporalio.Api.Schedule.V1.ScheduleState state) =>
        !state.Paused && (!state.LimitedActions || state.RemainingActions > 0);

    /// <summary>Drops the workflows that closed from the running list; a failure or timeout pauses the schedule when asked to.</summary>
    private async Task ObserveRunningAsync(string namespaceId, ScheduleState s)
    {
        var info = s.Described.Info;
        for (var i = info.RunningWorkflows.Count - 1; i >= 0; i--)
        {
            var execution = info.RunningWorkflows[i];

            // Asked of the node that owns the run (here, or another node of the cluster): its status and close event.
            var observed = await _history.RunCrossRunAsync(_history.ShardOf(namespaceId, execution.WorkflowId),
                new Cluster.CrossRunOperation.ObserveRun(namespaceId, execution.WorkflowId)).ConfigureAwait(false);
            var status = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(observed);
            if (status == (int)WorkflowExecutionStatus.Running)
            {
                continue;
            }

            info.RunningWorkflows.RemoveAt(i);
            foreach (var action in info.RecentActions.Where(a => a.StartWorkflowResult?.WorkflowId == execution.WorkflowId && a.StartWorkflowResult.RunId == execution.RunId))
            {
                action.StartWorkflowStatus = (WorkflowExecutionStatus)status;
            }

            if (s.CancelRequestedRunId == execution.RunId)
            {
                s.CancelRequestedRunId = null;
            }

            // What the next action's run receives, as Temporal's scheduler keeps it: a completion with a result
            // replaces the last result and clears the failure; a failure is kept beside the last result.
            var closed = observed.Length > 4 ? HistoryEvent.Parser.ParseFrom(observed.AsSpan(4)) : null;
            if (closed?.WorkflowExecutionCompletedEventAttributes?.Result is { } result)
            {
                s.LastCompletionResult = result;
                s.ContinuedFailure = null;
            }
            else if (closed?.WorkflowExecutionFailedEventAttributes?.Failure is { } failure)
            {
                s.ContinuedFailure = failure;
            }

            // Temporal's notes, set only by the pause itself (a schedule already paused keeps the note it has).
            if (s.Described.Schedule.Policies?.PauseOnFailure == true && !s.Described.Schedule.State.Paused
                && status is (int)WorkflowExecutionStatus.Failed or (int)WorkflowExecutionStatus.TimedOut)
            {
                s.Described.Schedule.State.Paused = true;
                s.Described.Schedule.State.Notes = status == (int)WorkflowExecutionStatus.Failed
                    ? $"paused due to workflow failure: {execution.WorkflowId}: {closed?.WorkflowExecutionFailedEventAttributes?.Failure?.Message}"
                    : $"paused due to workflow timeout: {execution.WorkflowId}";
            }
        }
    }

    /// <summary>Starts buffered actions in order as far as their overlap policies allow; each start commits with the schedule.</summary>
    private async Task<long> DrainBufferAsync(string namespaceId, ScheduleState s, long version)
    {
        var info = s.Described.Info;
        while (s.Buffer.Count > 0)
        {
            var next = s.Buffer[0];
            if (info.RunningWorkflows.Count == 0 && next.OverlapPolicy != ScheduleOverlapPolicy.AllowAll)
            {
                next = PreferLatestReplacing(s.Buffer);
            }

            if (info.RunningWorkflows.Count == 0 || next.OverlapPolicy == ScheduleOverlapPolicy.AllowAll)
            {
                // Paused (e.g. by a failure) or out of actions since it was buffered: dropped, as in Temporal.
                if (!next.Manual && !CanTakeScheduledAction(s.Described.Schedule.State))
                {
                    s.Buffer.RemoveAt(0);
                    continue;
                }

                version = await StartActionAsync(namespaceId, s, version).ConfigureAwait(false);
                continue;
            }

            switch (next.OverlapPolicy)
            {
                case ScheduleOverlapPolicy.Skip:
                    s.Buffer.RemoveAt(0);
                    info.OverlapSkipped++;
                    continue;
                case ScheduleOverlapPolicy.BufferOne:
                    // One waits; any later BUFFER_ONE start behind it is skipped.
                    while (s.Buffer.Count > 1 && s.Buffer[1].OverlapPolicy == ScheduleOverlapPolicy.BufferOne)
                    {
                        s.Buffer.RemoveAt(1);
                        info.OverlapSkipped++;
                    }

                    return version;
                case ScheduleOverlapPolicy.CancelOther:
                    foreach (var running in info.RunningWorkflows.Where(r => r.RunId != s.CancelRequestedRunId).ToList())
                    {
                        await IgnoreClosedAsync(_history.RunCrossRunAsync(_history.ShardOf(namespaceId, running.WorkflowId), new Cluster.CrossRunOperation.EndRun(
                            namespaceId, running.WorkflowId, running.RunId, Terminate: false, "cancelled by schedule overlap policy", Guid.NewGuid().ToString()))).ConfigureAwait(false);
                        s.CancelRequestedRunId = running.RunId;
                    }

                    return version;
                case ScheduleOverlapPolicy.TerminateOther:
                    foreach (var running in info.RunningWorkflows.ToList())
                    {
                        await IgnoreClosedAsync(_history.RunCrossRunAsync(_history.ShardOf(namespaceId, running.WorkflowId), new Cluster.CrossRunOperation.EndRun(
                            namespaceId, running.WorkflowId, running.RunId, Terminate: true, "terminated by schedule overlap policy", string.Empty))).ConfigureAwait(false);
                    }

                    await ObserveRunningAsync(namespaceId, s).ConfigureAwait(false);
                    continue;
                default: // BUFFER_ALL: wait for the running workflow to close.
                    return version;
            }
        }

        return version;
    }

    /// <summary>
    /// With nothing running, a later CANCEL_OTHER / TERMINATE_OTHER start replaces the one about to start, as in
    /// Temporal: starting the earlier ones only to cancel or terminate them at once would be pointless. The replaced
    /// starts are dropped; the others keep their order behind it. Returns the start now first in the buffer.
    /// </summary>
    private static BufferedStart PreferLatestReplacing(List<BufferedStart> buffer)
    {
        static bool Replaces(BufferedStart b) => b.OverlapPolicy is ScheduleOverlapPolicy.CancelOther or ScheduleOverlapPolicy.TerminateOther;
        var last = buffer.FindLastIndex(Replaces);
        if (last <= 0)
        {
            return buffer[0];
        }

        var replacing = buffer[last];
        var between = buffer.GetRange(1, last - 1).Where(b => !Replaces(b)).ToList();
        var after = buffer.GetRange(last + 1, buffer.Count - last - 1);
        buffer.Clear();
        buffer.Add(replacing);
        buffer.AddRange(between);
        buffer.AddRange(after);
        return replacing;
    }

    private static async Task IgnoreClosedAsync(Task operation)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.FailedPrecondition)
        {
            // It closed meanwhile: nothing to stop.
        }
    }

    /// <summary>
    /// Starts the first buffered action: the run and the schedule's new state (action counted, recent action,
    /// running workflow) commit together. A workflow id already taken skips the action.
    /// </summary>
    private async Task<long> StartActionAsync(string namespaceId, ScheduleState s, long version)
    {
        var start = s.Buffer[0];
        var action = s.Described.Schedule.Action.StartWorkflow;
        var workflowId = s.Described.Schedule.Policies?.KeepOriginalWorkflowId == true
            ? action.WorkflowId
            : $"{action.WorkflowId}-{start.Nominal.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}";
        var request = StartRequest(namespaceId, s.ScheduleId, action, workflowId, start.Nominal);
        request.LastCompletionResult = s.LastCompletionResult;
        request.ContinuedFailure = s.ContinuedFailure;
        var before = s.Serialize();
        var now = Now;
        void Record(string runId)
        {
            var info = s.Described.Info;
            s.Buffer.RemoveAt(0);

            // Describe may read this commit before the pass's final save: keep its buffer size true.
            info.BufferSize = s.Buffer.Count;
            info.ActionCount++;
            if (!start.Manual && s.Described.Schedule.State.LimitedActions)
            {
                s.Described.Schedule.State.RemainingActions--;
            }

            info.RecentActions.Add(new ScheduleActionResult
            {
                ScheduleTime = Timestamp.FromDateTime(start.Actual),
                ActualTime = Timestamp.FromDateTime(now),
                StartWorkflowResult = new WorkflowExecution { WorkflowId = workflowId, RunId = runId },
                StartWorkflowStatus = WorkflowExecutionStatus.Running,
            });
            while (info.RecentActions.Count > RecentActionsKept)
            {
                info.RecentActions.RemoveAt(0);
            }

            info.RunningWorkflows.Add(new WorkflowExecution { WorkflowId = workflowId, RunId = runId });
        }

        var runShard = _history.ShardOf(namespaceId, workflowId);
        if (!_history.Routing.IsSelf(_history.Routing.OwnerOfShard(runShard)))
        {
            // The run lives on another node of the cluster: started there first, with a request id this action always
            // has, so a retry after a crash before the schedule is saved finds the same run; the pass saves the schedule.
            request.RequestId = $"schedule/{s.ScheduleId}/{start.Nominal.Ticks}/{start.Actual.Ticks}";
            try
            {
                var started = StartWorkflowExecutionResponse.Parser.ParseFrom(await _history.RunCrossRunAsync(
                    runShard, new Cluster.CrossRunOperation.StartRun(namespaceId, request.ToByteArray())).ConfigureAwait(false));
                Record(started.RunId);
                return version;
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.AlreadyExists)
            {
                // Fall through: the id is taken, the action is skipped.
            }
        }
        else
        {
            string? createdRunId = null;
            try
            {
                var response = await _history.StartWorkflowAsync(namespaceId, request, m =>
                {
                    createdRunId = m.State.RunId;
                    Record(m.State.RunId);
                    m.Schedule = BuildWrite(namespaceId, s, version);
                }).ConfigureAwait(false);
                if (response.RunId == createdRunId)
                {
                    return version + 1;
                }
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.AlreadyExists)
            {
                // Fall through: the id is taken, the action is skipped.
            }
        }

        // Nothing of this start was committed: back to the state before it, without the action.
        var restored = ScheduleState.Deserialize(before);
        s.Described = restored.Described;
        s.Buffer.Clear();
        s.Buffer.AddRange(restored.Buffer.Skip(1));
        s.Described.Info.OverlapSkipped++;
        return version;
    }

    private static StartWorkflowExecutionRequest StartRequest(
        string namespaceId, string scheduleId, Temporalio.Api.Workflow.V1.NewWorkflowExecutionInfo action, string workflowId, DateTime nominal)
    {
        var attributes = action.SearchAttributes?.Clone() ?? new SearchAttributes();
        attributes.IndexedFields[ScheduledByIdAttribute] = JsonPayload(JsonSerializer.Serialize(scheduleId), "Keyword");
        attributes.IndexedFields[ScheduledStartTimeAttribute] = JsonPayload(
            JsonSerializer.Serialize(nominal.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)), "Datetime");
        return new StartWorkflowExecutionRequest
        {
            Namespace = namespaceId,
            WorkflowId = workflowId,
            WorkflowType = action.WorkflowType,
            TaskQueue = action.TaskQueue,
            Input = action.Input,
            WorkflowExecutionTimeout = action.WorkflowExecutionTimeout,
            WorkflowRunTimeout = action.WorkflowRunTimeout,
            WorkflowTaskTimeout = action.WorkflowTaskTimeout,
            RetryPolicy = action.RetryPolicy,
            Memo = action.Memo,
            SearchAttributes = attributes,
            Header = action.Header,
            Priority = action.Priority,
            Identity = "temporal-scheduler",
            RequestId = Guid.NewGuid().ToString(),
            WorkflowIdReusePolicy = WorkflowIdReusePolicy.AllowDuplicate,
            WorkflowIdConflictPolicy = WorkflowIdConflictPolicy.Fail,
        };
    }

    private static Payload JsonPayload(string json, string type) => new()
    {
        Metadata = { ["encoding"] = ByteString.CopyFromUtf8("json/plain"), ["type"] = ByteString.CopyFromUtf8(type) },
        Data = ByteString.CopyFromUtf8(json),
    };

    /// <summary>The schedule that started a run, from its TemporalScheduledById attribute.</summary>
    private static string? ScheduledBy(byte[]? searchAttributes)
    {
        if (searchAttributes is null)
        {
            return null;
        }

        var attributes = SearchAttributes.Parser.ParseFrom(searchAttributes);
        if (!attributes.IndexedFields.TryGetValue(ScheduledByIdAttribute, out var payload))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<string>(payload.Data.Span);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The next action times (with jitter) after the time processed up to, as Temporal computes them when read:
    /// also while paused, at most the remaining actions when limited, none before the last update.
    /// </summary>
    private static List<Timestamp> FutureActionTimes(ScheduleState s, int count)
    {
        var spec = ScheduleSpecCompiler.Compile(s.Described.Schedule.Spec);
        var state = s.Described.Schedule.State;
        var limit = state.LimitedActions ? (int)Math.Min(state.RemainingActions, count) : count;
        var updated = s.Described.Info.UpdateTime?.ToDateTime() ?? DateTime.MinValue;
        var times = new List<Timestamp>();
        var after = s.LastProcessed;
        while (times.Count < limit && spec.GetNextTime(s.ScheduleId, after) is { } next)
        {
            after = next.Nominal;
            if (next.Next >= updated)
            {
                times.Add(Timestamp.FromDateTime(next.Next));
            }
        }

        return times;
    }
}
