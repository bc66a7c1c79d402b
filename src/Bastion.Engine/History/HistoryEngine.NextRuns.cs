using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;

namespace Bastion.Engine.History;

/// <summary>
/// The ways a run hands over to a next run of the same workflow id in the same transition: continue-as-new,
/// the workflow's retry policy, and its cron schedule.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>
    /// Closes this run as continued-as-new and creates the next one in the same transition: same workflow id,
    /// the first run's id and expiration carried, memo and search attributes inherited unless replaced.
    /// </summary>
    private void ContinueAsNew(Mutation m, ContinueAsNewWorkflowExecutionCommandAttributes a, long completedEventId)
    {
        var s = m.State;
        var initiator = a.Initiator == ContinueAsNewInitiator.Unspecified ? ContinueAsNewInitiator.Workflow : a.Initiator;
        var started = new WorkflowExecutionStartedEventAttributes
        {
            WorkflowId = s.WorkflowId,
            WorkflowType = a.WorkflowType,
            TaskQueue = new TaskQueue { Name = string.IsNullOrEmpty(a.TaskQueue?.Name) ? s.TaskQueue : a.TaskQueue.Name, Kind = TaskQueueKind.Normal },
            Input = a.Input,
            WorkflowRunTimeout = a.WorkflowRunTimeout ?? ToDuration(s.RunTimeout),
            WorkflowTaskTimeout = a.WorkflowTaskTimeout ?? Duration.FromTimeSpan(s.TaskTimeout),
            WorkflowExecutionTimeout = ToDuration(s.ExecutionTimeout),
            WorkflowExecutionExpirationTime = ToTimestamp(s.ExpirationTime),
            ContinuedExecutionRunId = s.RunId,
            Initiator = initiator,
            ContinuedFailure = a.Failure,
            LastCompletionResult = a.LastCompletionResult,
            Memo = a.Memo ?? (s.Memo is { } memo ? Memo.Parser.ParseFrom(memo) : null),
            SearchAttributes = a.SearchAttributes ?? (s.SearchAttributes is { } sa ? SearchAttributes.Parser.ParseFrom(sa) : null),
            Header = a.Header,
            RetryPolicy = a.RetryPolicy,
            CronSchedule = a.CronSchedule,
            Priority = s.Priority?.ToProto(), // the command has no priority: the next run keeps this one's
        };
        InheritParent(started, EventsOf(m.Context)[0].WorkflowExecutionStartedEventAttributes);
        InheritVersioning(started, s, a.InitialVersioningBehavior);
        var next = NewRun(s.NamespaceId, s.WorkflowId, started, RunIds.New(_time), Positive(a.BackoffStartInterval) ?? FirstDelay(a.CronSchedule, null), s);
        if (a.InitialVersioningBehavior != ContinueAsNewVersioningBehavior.Unspecified)
        {
            (next.State.Versioning ??= new WorkflowVersioning()).ContinueAsNewInitialBehavior = (int)a.InitialVersioningBehavior;
        }
        m.NextRun = next; // before closing: the chain goes on, so the parent is not told this run closed
        CloseWorkflow(m, new HistoryEvent
        {
            EventType = EventType.WorkflowExecutionContinuedAsNew,
            WorkflowExecutionContinuedAsNewEventAttributes = new()
            {
                NewExecutionRunId = next.State.RunId,
                WorkflowType = a.WorkflowType,
                TaskQueue = started.TaskQueue,
                Input = a.Input,
                WorkflowRunTimeout = started.WorkflowRunTimeout,
                WorkflowTaskTimeout = started.WorkflowTaskTimeout,
                WorkflowTaskCompletedEventId = completedEventId,
                BackoffStartInterval = a.BackoffStartInterval,
                Initiator = initiator,
                LastCompletionResult = a.LastCompletionResult,
                Header = a.Header,
                Memo = started.Memo,
                SearchAttributes = started.SearchAttributes,
            },
        });
    }

    /// <summary>
    /// Continue-as-new and versioning, as in Temporal: a pinned run's next run starts pinned to the same version when it
    /// stays on the same task queue (the started event's <c>inherited_pinned_version</c>), unless the workflow asked to
    /// start on the deployment's target (<c>AUTO_UPGRADE</c>) or ramping version (<c>USE_RAMPING_VERSION</c>); a pinned
    /// override goes on with the chain.
    /// </summary>
    private static void InheritVersioning(WorkflowExecutionStartedEventAttributes next, WorkflowState previous, ContinueAsNewVersioningBehavior initial)
    {
        if (previous.Versioning is not { } versioning)
        {
            return;
        }

        if (versioning.OverrideProto is { Pinned: not null } pinnedOverride)
        {
            next.VersioningOverride = pinnedOverride;
        }

        if (initial == ContinueAsNewVersioningBehavior.Unspecified && next.TaskQueue.Name == previous.TaskQueue
            && versioning.Behavior == (int)VersioningBehavior.Pinned && versioning.Version is { } version)
        {
            next.InheritedPinnedVersion = version.ToProto();
        }
    }

    /// <summary>
    /// A run continued as new from a child is still that parent's child, in the same tree: its started event names
    /// the parent and the root as the run before did (a top-level chain names neither, as in Temporal).
    /// </summary>
    private static void InheritParent(WorkflowExecutionStartedEventAttributes next, WorkflowExecutionStartedEventAttributes previous)
    {
        next.ParentWorkflowNamespace = previous.ParentWorkflowNamespace;
        next.ParentWorkflowNamespaceId = previous.ParentWorkflowNamespaceId;
        next.ParentWorkflowExecution = previous.ParentWorkflowExecution;
        next.ParentInitiatedEventId = previous.ParentInitiatedEventId;
        next.RootWorkflowExecution = previous.RootWorkflowExecution;
    }

    /// <summary>
    /// The workflow's own retry policy (from its start): when it allows another attempt, the next run is created
    /// in this transition, after the backoff, with the same input and the failure it follows. Returns the retry
    /// state to record and the next run's id, if any. As in Temporal, a retry after the workflow failed carries no
    /// last completion result, one after its run timed out keeps the one its run started with.
    /// </summary>
    private (RetryState State, string? NextRunId) RetryWorkflow(Mutation m, Temporalio.Api.Failure.V1.Failure? failure, bool timedOut)
    {
        var first = EventsOf(m.Context)[0].WorkflowExecutionStartedEventAttributes;
        if (first.RetryPolicy is null)
        {
            return (RetryState.RetryPolicyNotSet, null);
        }

        var s = m.State;
        var attempt = first.Attempt == 0 ? 1 : first.Attempt;
        var (delay, state) = RetryPolicies.NextDelay(RetryPolicies.WithDefaults(first.RetryPolicy), attempt, failure, m.Now, s.ExpirationTime);
        if (delay is not { } backoff)
        {
            return (state, null);
        }

        var started = first.Clone();
        started.Attempt = attempt + 1;
        started.ContinuedExecutionRunId = s.RunId;
        started.Initiator = ContinueAsNewInitiator.Retry;
        started.ContinuedFailure = failure;
        if (!timedOut)
        {
            started.LastCompletionResult = null;
        }

        started.Identity = string.Empty;
        started.FirstWorkflowTaskBackoff = null;
        var next = NewRun(s.NamespaceId, s.WorkflowId, started, RunIds.New(_time), backoff, s);
        m.NextRun = next;
        return (RetryState.InProgress, next.State.RunId);
    }

    /// <summary>
    /// A cron workflow's run ended (completed, or failed / timed out with no retry left): the next run starts at the
    /// schedule's next time, created in this transition, carrying this run's result or failure. Returns its run id.
    /// After a failure the chain's last completion result (the one this run started with) goes on with it.
    /// </summary>
    private string? ScheduleNextCronRun(Mutation m, Payloads? result, Temporalio.Api.Failure.V1.Failure? failure)
    {
        var first = EventsOf(m.Context)[0].WorkflowExecutionStartedEventAttributes;
        if (string.IsNullOrEmpty(first.CronSchedule))
        {
            return null;
        }

        var s = m.State;
        var delay = CronSchedule.Parse(first.CronSchedule).DelayAfter(m.Now);
        if (s.ExpirationTime is { } end && m.Now + delay >= end)
        {
            return null; // the chain's execution timeout ends the schedule
        }

        var started = first.Clone();
        started.Attempt = 1;
        started.ContinuedExecutionRunId = s.RunId;
        started.Initiator = ContinueAsNewInitiator.CronSchedule;
        if (failure is null)
        {
            started.LastCompletionResult = result;
        }

        started.ContinuedFailure = failure;
        started.Identity = string.Empty;
        var next = NewRun(s.NamespaceId, s.WorkflowId, started, RunIds.New(_time), delay, s);
        m.NextRun = next;
        return next.State.RunId;
    }
}
