using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Operation = Temporalio.Api.WorkflowService.V1.StartBatchOperationRequest.OperationOneofCase;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Batch;

/// <summary>
/// A job's loop: take the next target after the cursor, wait for the rate, apply the operation through the engine,
/// record counts and the new cursor. A crash between an operation and its record repeats that one operation on
/// resume, which changes nothing: a terminated or deleted run is not found (counted done, as Temporal does), a
/// second cancel request is acknowledged, a signal or a standalone activity's terminate or cancel carries a request id per (job, run)
/// the engine deduplicates.
/// </summary>
internal sealed partial class BatchOperations
{
    private const int AttemptsOnUnavailable = 10;

    private void Launch(BatchRecord record, StartBatchOperationRequest request)
    {
        var key = (record.NamespaceId, record.JobKey);
        // A job from before jobs had shards is the shard-0 owner's.
        var job = new RunningJob(CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token), record.ShardId ?? 0);
        if (!_running.TryAdd(key, job))
        {
            job.Dispose();
            return;
        }

        job.Completion = Detached.Start(() => Task.Run(async () =>
        {
            try
            {
                await RunAsync(record, request, job.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (job.Token.IsCancellationRequested)
            {
                // Stopped, or the server is shutting down: the row says where to resume.
            }
#pragma warning disable CA1031 // A job that fails unexpectedly is left running in the store and resumes at the next start.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogJobFailed(logger, e, record.JobKey);
            }
            finally
            {
                _running.TryRemove(key, out _);
                job.Dispose();
            }
        }));
    }

    private async Task RunAsync(BatchRecord record, StartBatchOperationRequest request, CancellationToken cancel)
    {
        var (total, completed, failed, cursor) = (record.Total, record.Completed, record.Failed, record.Cursor);
        var ns = namespaces.FindById(record.NamespaceId);
        if (ns is null)
        {
            await store.UpdateRunningBatchAsync(record.NamespaceId, record.JobKey, (int)BatchOperationState.Failed, Now, total, completed, failed, cursor, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        // A rate of next to nothing (1e-30 per second) would be an interval past TimeSpan's end: at least one a day.
        var interval = TimeSpan.FromSeconds(Math.Min(1 / (request.MaxOperationsPerSecond > 0 ? request.MaxOperationsPerSecond : DefaultOperationsPerSecond), 86_400));
        var query = TargetQuery(request);
        var next = Now;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            (WorkflowExecution Execution, string Cursor)? target;
            try
            {
                target = await NextTargetAsync(ns, request, query, cursor).ConfigureAwait(false);
            }
            catch (ServiceException e)
            {
                // The selection itself broke (an attribute the query names was removed…): the job fails, as Temporal's would.
                LogSelectionFailed(logger, e, record.JobKey);
                await store.UpdateRunningBatchAsync(ns.Id, record.JobKey, (int)BatchOperationState.Failed, Now, total, completed, failed, cursor, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            if (target is not { } t)
            {
                await store.UpdateRunningBatchAsync(ns.Id, record.JobKey, (int)BatchOperationState.Completed, Now, total, completed, failed, cursor, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            var wait = next - Now;
            if (wait > TimeSpan.Zero)
            {
                await LongTimer.DelayAsync(wait, time, cancel).ConfigureAwait(false);
            }

            next = (next > Now ? next : Now) + interval;
            if (await ApplyAsync(ns, record.JobKey, request, t.Execution, cancel).ConfigureAwait(false))
            {
                completed++;
            }
            else
            {
                failed++;
            }

            cursor = t.Cursor;
            if (!await store.UpdateRunningBatchAsync(ns.Id, record.JobKey, (int)BatchOperationState.Running, null, total, completed, failed, cursor, CancellationToken.None).ConfigureAwait(false))
            {
                return; // Stopped meanwhile.
            }
        }
    }

    /// <summary>
    /// The next run after the cursor. A query is read one row at a time, its keyset page token being the cursor
    /// (so runs the operation takes out of the selection, or new ones, neither shift nor repeat it); an explicit
    /// list by index.
    /// </summary>
    private async Task<(WorkflowExecution, string)?> NextTargetAsync(NamespaceEntry ns, StartBatchOperationRequest request, string? query, string? cursor)
    {
        if (query != null && TargetsStandaloneActivities(request))
        {
            // The same keyset token over the activities' run rows: the activity id stands where a workflow id would.
            var (activities, token) = await visibility.ListActivitiesAsync(ns, query, 1, cursor is null ? null : ByteString.CopyFromUtf8(cursor)).ConfigureAwait(false);
            return activities.Count == 0 ? null : (new WorkflowExecution { WorkflowId = activities[0].ActivityId, RunId = activities[0].RunId }, token.ToStringUtf8());
        }

        if (query != null)
        {
            var (executions, token) = await visibility.ListAsync(ns, query, 1, cursor is null ? null : ByteString.CopyFromUtf8(cursor)).ConfigureAwait(false);
            return executions.Count == 0 ? null : (executions[0].Execution, token.ToStringUtf8());
        }

        var index = cursor is null ? 0 : int.Parse(cursor.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture);
        var count = LegacyExecutions(request).Count + request.TargetExecutions.Count;
        if (index >= count)
        {
            return null;
        }

        var execution = LegacyExecutions(request).Count > 0
            ? LegacyExecutions(request)[index]
            : new WorkflowExecution { WorkflowId = request.TargetExecutions[index].BusinessId, RunId = request.TargetExecutions[index].RunId };
        return (execution, FormattableString.Invariant($"i:{index + 1}"));
    }

    /// <summary>One operation through the engine's own path; true when done (or nothing left to do), false when it failed.</summary>
    private async Task<bool> ApplyAsync(NamespaceEntry ns, string jobKey, StartBatchOperationRequest request, WorkflowExecution execution, CancellationToken cancel)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // A standalone activity's target names its activity id; its run lives under a reserved workflow id.
                var key = TargetsStandaloneActivities(request)
                    ? await engine.ResolveStandaloneAsync(ns.Id, execution.WorkflowId, execution.RunId).ConfigureAwait(false)
                    : await engine.ResolveAsync(ns.Id, execution.WorkflowId, execution.RunId).ConfigureAwait(false);
                var requestId = $"batch/{jobKey}/{key.RunId}";
                switch (request.OperationCase)
                {
                    case Operation.TerminationOperation:
                        var terminate = request.TerminationOperation;
                        await engine.TerminateAsync(key, request.Reason, terminate.Details, terminate.Identity).ConfigureAwait(false);
                        break;
                    case Operation.CancellationOperation:
                        await engine.RequestCancelAsync(key, new RequestCancelWorkflowExecutionRequest
                        {
                            Namespace = ns.Name,
                            WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId },
                            Identity = request.CancellationOperation.Identity,
                            RequestId = requestId,
                            Reason = request.Reason,
                        }).ConfigureAwait(false);
                        break;
                    case Operation.SignalOperation:
                        var signal = request.SignalOperation;
                        await engine.SignalAsync(key, new SignalWorkflowExecutionRequest
                        {
                            Namespace = ns.Name,
                            WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId },
                            SignalName = signal.Signal,
                            Input = signal.Input,
                            Header = signal.Header,
                            Identity = signal.Identity,
                            RequestId = requestId,
                        }).ConfigureAwait(false);
                        break;
                    case Operation.DeletionOperation:
                        await engine.DeleteAsync(key).ConfigureAwait(false);
                        break;
                    case Operation.ResetOperation:
                        await ResetAsync(ns, key, request, requestId).ConfigureAwait(false);
                        break;
                    case Operation.UpdateWorkflowOptionsOperation:
                        var options = request.UpdateWorkflowOptionsOperation;
                        await engine.UpdateWorkflowExecutionOptionsAsync(key, new UpdateWorkflowExecutionOptionsRequest
                        {
                            Namespace = ns.Name,
                            WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId },
                            WorkflowExecutionOptions = options.WorkflowExecutionOptions,
                            UpdateMask = options.UpdateMask,
                            Identity = options.Identity,
                        }).ConfigureAwait(false);
                        break;
                    case Operation.UnpauseActivitiesOperation:
                        var unpause = request.UnpauseActivitiesOperation;
                        await engine.UnpauseActivityAsync(key, Selector(unpause.Type, unpause.MatchAll), unpause.ResetAttempts, unpause.ResetHeartbeat, unpause.Jitter?.ToTimeSpan() ?? TimeSpan.Zero)
                            .ConfigureAwait(false);
                        break;
                    case Operation.ResetActivitiesOperation:
                        var reset = request.ResetActivitiesOperation;
                        await engine.ResetActivityAsync(key, Selector(reset.Type, reset.MatchAll), reset.ResetHeartbeat, reset.KeepPaused, reset.RestoreOriginalOptions, reset.Jitter?.ToTimeSpan() ?? TimeSpan.Zero)
                            .ConfigureAwait(false);
                        break;
                    case Operation.UpdateActivityOptionsOperation:
                        var update = request.UpdateActivityOptionsOperation;
                        await engine.UpdateActivityOptionsAsync(key, Selector(update.Type, update.MatchAll), update.ActivityOptions, update.UpdateMask?.Paths, update.RestoreOriginal)
                            .ConfigureAwait(false);
                        break;
                    case Operation.TerminateActivitiesOperation:
                        var terminateActivity = request.TerminateActivitiesOperation;
                        await engine.TerminateActivityExecutionAsync(key, requestId, terminateActivity.Reason, terminateActivity.Identity).ConfigureAwait(false);
                        break;
                    case Operation.CancelActivitiesOperation:
                        var cancelActivity = request.CancelActivitiesOperation;
                        await engine.RequestCancelActivityExecutionAsync(key, requestId, cancelActivity.Reason, cancelActivity.Identity).ConfigureAwait(false);
                        break;
                    case Operation.DeleteActivitiesOperation:
                        await engine.DeleteActivityExecutionAsync(key).ConfigureAwait(false);
                        break;
                    default:
                        throw new InvalidOperationException($"Operation {request.OperationCase} passed validation.");
                }

                return true;
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
            {
                return true; // Not running any more, or deleted: Temporal counts it done.
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.Unavailable && attempt < AttemptsOnUnavailable)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time, cancel).ConfigureAwait(false);
            }
            catch (ServiceException e)
            {
                LogOperationFailed(logger, e, jobKey, execution.RunId);
                return false;
            }
        }
    }

    /// <summary>
    /// Resets one run as ResetWorkflowExecution does, to the point the operation names in that run's history. The
    /// request id makes a repeat after a crash a no-op: the engine answers a reset it already made with its run.
    /// </summary>
    private async Task ResetAsync(NamespaceEntry ns, WorkflowKey key, StartBatchOperationRequest request, string requestId)
    {
        var reset = request.ResetOperation;
        var eventId = await engine.ReadAsync(key, c => BatchResetPoint.EventIdOf(reset, HistoryEngine.EventsOf(c))).ConfigureAwait(false);
        var (reapply, exclude) = BatchResetPoint.ReapplyOf(reset);
        await engine.ResetAsync(key, new ResetWorkflowExecutionRequest
        {
            Namespace = ns.Name,
            WorkflowExecution = new WorkflowExecution { WorkflowId = key.WorkflowId, RunId = key.RunId },
            Reason = request.Reason,
            RequestId = requestId,
            WorkflowTaskFinishEventId = eventId,
#pragma warning disable CS0612 // Still what the engine's reset reads (as Temporal's does) alongside the exclusions.
            ResetReapplyType = reapply,
#pragma warning restore CS0612
            ResetReapplyExcludeTypes = { exclude },
            Identity = reset.Identity,
        }).ConfigureAwait(false);
    }

    /// <summary>The activities of a run an activity operation names: those of a type, or all (validated at start).</summary>
    private static HistoryEngine.ActivitySelector Selector(string type, bool matchAll) =>
        new(null, string.IsNullOrEmpty(type) ? null : type, matchAll);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Batch job {JobKey} failed unexpectedly; it resumes at the next start.")]
    private static partial void LogJobFailed(ILogger logger, Exception e, string jobKey);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Batch job {JobKey} could not read its selection; the job failed.")]
    private static partial void LogSelectionFailed(ILogger logger, Exception e, string jobKey);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Batch job {JobKey}: the operation on run {RunId} failed.")]
    private static partial void LogOperationFailed(ILogger logger, Exception e, string jobKey, string runId);
}
