using Bastion.Engine.Errors;
using Bastion.Engine.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    private static readonly TimeSpan s_defaultTaskTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_maxTaskTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Starts a run: a retried request (same request id) returns the run it started; a running workflow with the
    /// same id is ALREADY_EXISTS with the detail the SDKs need; a closed one is replaced per the reuse policy.
    /// </summary>
    /// <remarks><paramref name="withNewRun"/> sees the new run before it is committed (update-with-start).</remarks>
    public Task<StartWorkflowExecutionResponse> StartWorkflowAsync(string namespaceId, StartWorkflowExecutionRequest request, Action<Mutation>? withNewRun = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireWorkflowId(request.WorkflowId);
        RequireValidSearchAttributes(namespaceId, request.SearchAttributes);
        return WithWorkflowIdAsync(namespaceId, request.WorkflowId, async currentRunId =>
        {
            var delay = FirstDelay(request.CronSchedule, request.WorkflowStartDelay);
            var eager = request.RequestEagerExecution && delay is null;
            var started = StartedAttributes(request);
            started.EagerExecutionAccepted = eager;
            var m = NewRun(namespaceId, request.WorkflowId, started, request.RequestId, delay, null, userMetadata: request.UserMetadata, links: request.Links);
            AttachNexusCallbacks(m, request.CompletionCallbacks);
            withNewRun?.Invoke(m);
            if (eager)
            {
                StartEagerly(m, request);
            }
            if (currentRunId != null)
            {
                var currentKey = new WorkflowKey(namespaceId, request.WorkflowId, currentRunId);
                var existing = await ReadAsync(currentKey, c => CheckExisting(c.State, request)).ConfigureAwait(false);
                if (existing == s_terminateCurrent)
                {
                    await TerminateAndReplaceAsync(currentKey, m, request.Identity).ConfigureAwait(false);
                    return await StartedAsync(m.Context.Key, eager).ConfigureAwait(false);
                }

                if (existing != null)
                {
                    if (!existing.Started && request.OnConflictOptions is { } attach)
                    {
                        await AttachOnConflictAsync(currentKey, request, attach).ConfigureAwait(false);
                    }

                    // A retried request is answered as the first time, eager task included while it is still running.
                    return existing.Started ? await StartedAsync(currentKey, eager).ConfigureAwait(false) : existing;
                }
            }

            await CreateRunAsync(m, currentRunId).ConfigureAwait(false);
            return await StartedAsync(m.Context.Key, eager).ConfigureAwait(false);
        });
    }

    private async Task<StartWorkflowExecutionResponse> StartedAsync(WorkflowKey run, bool eager) => new()
    {
        RunId = run.RunId,
        Started = true,
        EagerWorkflowTask = eager ? await EagerWorkflowTaskAsync(run).ConfigureAwait(false) : null,
    };

    /// <summary>
    /// Signals the running workflow of that id, or starts one with the signal as its first event after
    /// WorkflowExecutionStarted, as one transition.
    /// </summary>
    public Task<SignalWithStartWorkflowExecutionResponse> SignalWithStartAsync(string namespaceId, SignalWithStartWorkflowExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireWorkflowId(request.WorkflowId);
        RequireValidSearchAttributes(namespaceId, request.SearchAttributes);
        return WithWorkflowIdAsync(namespaceId, request.WorkflowId, async currentRunId =>
        {
            var signal = new SignalWorkflowExecutionRequest
            {
                SignalName = request.SignalName,
                Input = request.SignalInput,
                Identity = request.Identity,
                Header = request.Header,
                RequestId = request.RequestId,
                Links = { request.Links },
            };
            var replace = false;
            if (currentRunId != null)
            {
                var key = new WorkflowKey(namespaceId, request.WorkflowId, currentRunId);
                var open = await ReadAsync(key, c => c.State.IsOpen).ConfigureAwait(false);
                if (open && request.WorkflowIdConflictPolicy is not (WorkflowIdConflictPolicy.Fail or WorkflowIdConflictPolicy.TerminateExisting))
                {
                    await SignalAsync(key, signal).ConfigureAwait(false);

                    // As in Temporal, a signal-with-start cuts short the start delay of the run it signals (a plain signal waits).
                    await UpdateAsync(key, m => EndStartDelay(m)).ConfigureAwait(false);
                    return new SignalWithStartWorkflowExecutionResponse { RunId = currentRunId, Started = false };
                }

                var asStart = new StartWorkflowExecutionRequest
                {
                    WorkflowId = request.WorkflowId,
                    RequestId = Guid.NewGuid().ToString(), // a signal-with-start never deduplicates into an old run
                    WorkflowIdReusePolicy = request.WorkflowIdReusePolicy,
                    WorkflowIdConflictPolicy = request.WorkflowIdConflictPolicy,
                };
                replace = await ReadAsync(key, c => CheckExisting(c.State, asStart)).ConfigureAwait(false) == s_terminateCurrent;
            }

            var m = NewRun(namespaceId, request.WorkflowId, StartedAttributes(AsStart(request)), request.RequestId, FirstDelay(request.CronSchedule, request.WorkflowStartDelay), null, run => AppendSignal(run, signal), request.UserMetadata, links: request.Links);
            if (replace)
            {
                await TerminateAndReplaceAsync(new WorkflowKey(namespaceId, request.WorkflowId, currentRunId!), m, request.Identity).ConfigureAwait(false);
            }
            else
            {
                await CreateRunAsync(m, currentRunId).ConfigureAwait(false);
            }

            return new SignalWithStartWorkflowExecutionResponse { RunId = m.State.RunId, Started = true };
        });
    }

    /// <summary>
    /// The run stops waiting out its start delay (or cron / retry backoff) and gets its first workflow task now
    /// (speculative when it only carries updates). Its backoff timer stays: when it fires it schedules the first task
    /// only if none ran meanwhile (a speculative one the worker only rejected leaves no trace), as in Temporal.
    /// </summary>
    private static bool EndStartDelay(Mutation m, bool speculative = false)
    {
        if (!m.State.IsOpen || !m.State.AwaitingStartDelay)
        {
            return false;
        }

        m.State.AwaitingStartDelay = false;
        ScheduleWorkflowTask(m, speculative);
        m.MarkChanged();
        return true;
    }

    private const string ReplacedByStartReason = "terminated by a new start of the same workflow id (WorkflowIdConflictPolicy TerminateExisting)";

    /// <summary>
    /// Terminates the running workflow and creates its replacement in one transition; <paramref name="resetTo"/>: the
    /// replacement is this run's reset (see <see cref="WorkflowState.ResetRunId"/>).
    /// </summary>
    private Task<bool> TerminateAndReplaceAsync(WorkflowKey current, Mutation replacement, string identity, string reason = ReplacedByStartReason, bool resetTo = false) =>
        UpdateAsync(current, m =>
        {
            RequireOpen(m.State);
            if (resetTo)
            {
                m.State.ResetRunId = replacement.State.RunId;
            }

            m.FlushBufferedEvents();
            CloseWorkflow(m, new HistoryEvent
            {
                EventType = EventType.WorkflowExecutionTerminated,
                WorkflowExecutionTerminatedEventAttributes = new()
                {
                    Reason = reason,
                    Identity = identity,
                },
            });
            m.NextRun = replacement;
            return true;
        });

    /// <summary>Runs <paramref name="action"/> with the current run id of a workflow id, one start at a time per id.</summary>
    private async Task<T> WithWorkflowIdAsync<T>(string namespaceId, string workflowId, Func<string?, Task<T>> action)
    {
        var gate = _workflowIdLocks[(int)((uint)workflowId.GetHashCode(StringComparison.Ordinal) % (uint)_workflowIdLocks.Length)];
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await action(await GetCurrentRunIdAsync(namespaceId, workflowId).ConfigureAwait(false)).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private static WorkflowExecutionStartedEventAttributes StartedAttributes(StartWorkflowExecutionRequest r) => new()
    {
        WorkflowId = r.WorkflowId,
        WorkflowType = r.WorkflowType,
        TaskQueue = new TaskQueue { Name = r.TaskQueue.Name, Kind = TaskQueueKind.Normal },
        Input = r.Input,
        WorkflowExecutionTimeout = r.WorkflowExecutionTimeout,
        WorkflowRunTimeout = r.WorkflowRunTimeout,
        WorkflowTaskTimeout = r.WorkflowTaskTimeout,
        Identity = r.Identity,
        Memo = r.Memo,
        SearchAttributes = r.SearchAttributes,
        Header = r.Header,
        RetryPolicy = r.RetryPolicy,
        CronSchedule = r.CronSchedule,
        Priority = r.Priority,
        CompletionCallbacks = { r.CompletionCallbacks },
        VersioningOverride = r.VersioningOverride,

        // What a schedule carries from its previous action (Temporal's rule for its scheduler's starts).
        LastCompletionResult = r.LastCompletionResult,
        ContinuedFailure = r.ContinuedFailure,
    };

    /// <summary>A new run's versioning from its started event: the override it starts with and the pinned version it inherits.</summary>
    private static WorkflowVersioning? InitialVersioning(WorkflowExecutionStartedEventAttributes started)
    {
        var versioning = new WorkflowVersioning
        {
            Override = WorkflowVersioning.Encode(started.VersioningOverride),
            InheritedDeploymentName = started.InheritedPinnedVersion?.DeploymentName,
            InheritedBuildId = started.InheritedPinnedVersion is { BuildId.Length: > 0 } inherited ? inherited.BuildId : null,
        };
        return versioning.IsEmpty ? null : versioning;
    }

    /// <summary>When the first workflow task may run: at the cron schedule's next time, else after the start delay.</summary>
    private TimeSpan? FirstDelay(string cronSchedule, Duration? startDelay) =>
        string.IsNullOrEmpty(cronSchedule) ? Positive(startDelay) : CronSchedule.Parse(cronSchedule).DelayAfter(Now);

    /// <summary>The start half of a signal-with-start, as a plain start request.</summary>
    private static StartWorkflowExecutionRequest AsStart(SignalWithStartWorkflowExecutionRequest r) => new()
    {
        WorkflowId = r.WorkflowId,
        WorkflowType = r.WorkflowType,
        TaskQueue = r.TaskQueue,
        Input = r.Input,
        WorkflowExecutionTimeout = r.WorkflowExecutionTimeout,
        WorkflowRunTimeout = r.WorkflowRunTimeout,
        WorkflowTaskTimeout = r.WorkflowTaskTimeout,
        Identity = r.Identity,
        Memo = r.Memo,
        SearchAttributes = r.SearchAttributes,
        Header = r.Header,
        RetryPolicy = r.RetryPolicy,
        CronSchedule = r.CronSchedule,
        Priority = r.Priority,
        VersioningOverride = r.VersioningOverride,
    };

    /// <summary>
    /// A new run in the making: its state, WorkflowExecutionStarted (from <paramref name="started"/>, with the
    /// server's normalized timeouts and run ids filled in), the first workflow task or the start delay, and the
    /// run-timeout timer. <paramref name="previous"/> is the run it continues, if any; <paramref name="firstEvents"/>
    /// adds events that belong before the first workflow task (the signal of a signal-with-start);
    /// <paramref name="userMetadata"/> (summary and details) rides the started event and describe shows it.
    /// </summary>
    private Mutation NewRun(
        string namespaceId,
        string workflowId,
        WorkflowExecutionStartedEventAttributes started,
        string requestId,
        TimeSpan? delay,
        WorkflowState? previous,
        Action<Mutation>? firstEvents = null,
        Temporalio.Api.Sdk.V1.UserMetadata? userMetadata = null,
        StandaloneActivity? standalone = null,
        IEnumerable<Link>? links = null)
    {
        var now = Now;
        var runId = RunIds.New(_time);
        var taskTimeout = started.WorkflowTaskTimeout?.ToTimeSpan() is { } t && t > TimeSpan.Zero
            ? (t > s_maxTaskTimeout ? s_maxTaskTimeout : t)
            : s_defaultTaskTimeout;
        var executionTimeout = Positive(started.WorkflowExecutionTimeout);
        var expiration = started.WorkflowExecutionExpirationTime?.ToDateTime()
            ?? (executionTimeout is { } x ? now + x : (DateTime?)null);
        var runTimeout = Positive(started.WorkflowRunTimeout) ?? executionTimeout;
        if (executionTimeout is { } e && runTimeout > e)
        {
            runTimeout = e;
        }

        started.OriginalExecutionRunId = runId;
        started.FirstExecutionRunId = previous?.FirstRunId ?? runId;
        started.Attempt = started.Attempt == 0 ? 1 : started.Attempt;
        started.WorkflowTaskTimeout = Duration.FromTimeSpan(taskTimeout);
        started.WorkflowRunTimeout = ToDuration(runTimeout);
        started.WorkflowExecutionTimeout = ToDuration(executionTimeout);
        started.WorkflowExecutionExpirationTime = expiration is { } exp ? Timestamp.FromDateTime(exp) : null;
        started.FirstWorkflowTaskBackoff = ToDuration(delay);
        var state = new WorkflowState
        {
            NamespaceId = namespaceId,
            WorkflowId = workflowId,
            RunId = runId,
            FirstRunId = started.FirstExecutionRunId,
            WorkflowType = started.WorkflowType.Name,
            TaskQueue = started.TaskQueue.Name,
            StartTime = now,
            ExecutionTime = now + (delay ?? TimeSpan.Zero),
            ExecutionTimeout = executionTimeout,
            ExpirationTime = expiration,
            RunTimeout = runTimeout,
            TaskTimeout = taskTimeout,
            StartRequestId = requestId,
            Memo = started.Memo?.ToByteArray(),
            SearchAttributes = started.SearchAttributes?.ToByteArray(),
            UserMetadata = userMetadata?.ToByteArray(),
            AwaitingStartDelay = delay.HasValue,

            // A run that continues a chain (continue-as-new, retry, cron) is still its parent's child.
            ParentWorkflowId = previous?.ParentWorkflowId,
            ParentRunId = previous?.ParentRunId,
            ParentInitiatedEventId = previous?.ParentInitiatedEventId ?? 0,
            RootWorkflowId = previous?.RootWorkflowId,
            RootRunId = previous?.RootRunId,

            // ...and still reports to the Nexus operations the chain backs.
            NexusCallbacks = previous is null ? [] : [.. previous.NexusCallbacks],
            NexusCallbackOperationTokens = previous is null ? [] : [.. previous.NexusCallbackOperationTokens],
            NexusCallbackTimes = previous is null ? [] : [.. previous.NexusCallbackTimes],
            Versioning = InitialVersioning(started),
            Priority = Bastion.Engine.Matching.TaskPriority.From(started.Priority) is { IsDefault: false } priority ? priority : null,
            Standalone = standalone,
        };
        var context = new WorkflowContext(new WorkflowKey(namespaceId, workflowId, runId), ShardOf(namespaceId, workflowId), state, 0) { Events = [] };
        var m = new Mutation(context, now);
        var startedEvent = new HistoryEvent { EventType = EventType.WorkflowExecutionStarted, WorkflowExecutionStartedEventAttributes = started, UserMetadata = userMetadata };
        startedEvent.Links.AddRange(links ?? []);
        m.AddEvent(startedEvent);
        firstEvents?.Invoke(m);
        if (standalone != null)
        {
            return m; // No workflow task and no run deadline: the activity's own timeouts bound it.
        }

        if (delay is { } d)
        {
            m.AddTask(TaskKind.WorkflowStartBackoff, 1, 0, now + d);
        }
        else
        {
            ScheduleWorkflowTask(m);
        }

        AddRunDeadline(m);
        return m;
    }

    /// <summary>The run ends at its run timeout or when the whole chain of runs expires, whichever is first.</summary>
    private static void AddRunDeadline(Mutation m)
    {
        var deadline = m.State.RunTimeout is { } run ? m.Now + run : (DateTime?)null;
        if (m.State.ExpirationTime is { } chainEnd && (deadline is null || chainEnd < deadline))
        {
            deadline = chainEnd;
        }

        if (deadline is { } end)
        {
            m.AddTask(TaskKind.WorkflowRunTimeout, 1, 0, end);
        }
    }

    /// <summary>Writes a signal into a run being created (signal-with-start), before its first workflow task.</summary>
    private static void AppendSignal(Mutation m, SignalWorkflowExecutionRequest signal)
    {
        if (!string.IsNullOrEmpty(signal.RequestId))
        {
            m.State.SignalRequestIds.Add(signal.RequestId);
        }

        m.AddEvent(new HistoryEvent
        {
            EventType = EventType.WorkflowExecutionSignaled,
            WorkflowExecutionSignaledEventAttributes = new()
            {
                SignalName = signal.SignalName,
                Input = signal.Input,
                Identity = signal.Identity,
                Header = signal.Header,
            },
            Links = { signal.Links },
        });
    }

    /// <summary>CheckExisting's answer when the running workflow must be terminated and replaced.</summary>
    private static readonly StartWorkflowExecutionResponse s_terminateCurrent = new();

    /// <summary>
    /// What an existing run of the same id means for a start: a deduplicated answer, an error, go on (null), or
    /// <see cref="s_terminateCurrent"/> (the conflict policy replaces the running workflow).
    /// </summary>
    private static StartWorkflowExecutionResponse? CheckExisting(WorkflowState current, StartWorkflowExecutionRequest request)
    {
        if (current.StartRequestId == request.RequestId)
        {
            return new StartWorkflowExecutionResponse { RunId = current.RunId, Started = true };
        }

        if (current.AttachedRequestIds.Contains(request.RequestId))
        {
            return new StartWorkflowExecutionResponse { RunId = current.RunId, Started = false };
        }

        if (current.IsOpen)
        {
            switch (request.WorkflowIdConflictPolicy)
            {
                case WorkflowIdConflictPolicy.UseExisting:
                    return new StartWorkflowExecutionResponse { RunId = current.RunId, Started = false };
                case WorkflowIdConflictPolicy.TerminateExisting:
                    return s_terminateCurrent;
                default:
#pragma warning disable CS0612 // Deprecated in favour of the conflict policy, but SDKs still send it.
                    if (request.WorkflowIdReusePolicy == WorkflowIdReusePolicy.TerminateIfRunning)
#pragma warning restore CS0612
                    {
                        return s_terminateCurrent;
                    }

                    throw AlreadyStarted(current, $"Workflow execution is already running. WorkflowId: {current.WorkflowId}, RunId: {current.RunId}.");
            }
        }

        var closedSuccessfully = current.Status == (int)WorkflowExecutionStatus.Completed;
        return request.WorkflowIdReusePolicy switch
        {
            WorkflowIdReusePolicy.RejectDuplicate =>
                throw AlreadyStarted(current, $"Workflow execution already finished and WorkflowIdReusePolicy is RejectDuplicate. WorkflowId: {current.WorkflowId}, RunId: {current.RunId}."),
            WorkflowIdReusePolicy.AllowDuplicateFailedOnly when closedSuccessfully =>
                throw AlreadyStarted(current, $"Workflow execution already finished successfully and WorkflowIdReusePolicy is AllowDuplicateFailedOnly. WorkflowId: {current.WorkflowId}, RunId: {current.RunId}."),
            _ => null,
        };
    }

    private static void RequireWorkflowId(string workflowId)
    {
        if (HiddenRuns.IsHidden(workflowId))
        {
            throw ServiceException.InvalidArgument(HiddenRuns.Refusal);
        }
    }

    private static ServiceException AlreadyStarted(WorkflowState current, string message) =>
        new(ErrorKind.AlreadyExists, message, new WorkflowExecutionAlreadyStartedFailure { StartRequestId = current.StartRequestId, RunId = current.RunId });
}
