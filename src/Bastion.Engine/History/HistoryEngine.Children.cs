using Bastion.Engine.Errors;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Google.Protobuf;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Child workflows. The parent's command writes StartChildWorkflowExecutionInitiated and a StartChild task; that
/// task creates the child run (its request id makes a retry find the same run) and then records the outcome in
/// the parent. A child's close writes a RecordChildClosed task; a parent's close applies each open child's
/// parent close policy. Each step is its own durable task, so a crash between steps resumes where it stopped.
/// </summary>
internal sealed partial class HistoryEngine
{
    private static void StartChild(Mutation m, StartChildWorkflowExecutionCommandAttributes a, long completedEventId)
    {
#pragma warning disable CS0612 // Deprecated, but SDKs send it and read it back in the child events.
        var requestedNamespace = a.Namespace;
#pragma warning restore CS0612
        var attributes = new StartChildWorkflowExecutionInitiatedEventAttributes
        {
            Namespace = requestedNamespace,
            NamespaceId = m.State.NamespaceId,
            WorkflowId = a.WorkflowId,
            WorkflowType = a.WorkflowType,
            TaskQueue = new TaskQueue { Name = string.IsNullOrEmpty(a.TaskQueue?.Name) ? m.State.TaskQueue : a.TaskQueue.Name, Kind = TaskQueueKind.Normal },
            Input = a.Input,
            WorkflowExecutionTimeout = a.WorkflowExecutionTimeout,
            WorkflowRunTimeout = a.WorkflowRunTimeout,
            WorkflowTaskTimeout = a.WorkflowTaskTimeout,
            ParentClosePolicy = a.ParentClosePolicy == ParentClosePolicy.Unspecified ? ParentClosePolicy.Terminate : a.ParentClosePolicy,
            WorkflowTaskCompletedEventId = completedEventId,
            WorkflowIdReusePolicy = a.WorkflowIdReusePolicy,
            CronSchedule = a.CronSchedule,
            RetryPolicy = a.RetryPolicy,
            Header = a.Header,
            Memo = a.Memo,
            SearchAttributes = a.SearchAttributes,
            // A child inherits each priority field its command leaves unset from its parent, as Temporal documents.
            Priority = Bastion.Engine.Matching.TaskPriority.Merge(m.State.Priority ?? default, Bastion.Engine.Matching.TaskPriority.From(a.Priority)).ToProto(),
        };
        TrackChild(m, m.AddEvent(new HistoryEvent { EventType = EventType.StartChildWorkflowExecutionInitiated, StartChildWorkflowExecutionInitiatedEventAttributes = attributes }));
    }

    /// <summary>A StartChildWorkflowExecutionInitiated event's child becomes pending, and its StartChild task is added.</summary>
    private static ChildInfo TrackChild(Mutation m, HistoryEvent initiated)
    {
        var attributes = initiated.StartChildWorkflowExecutionInitiatedEventAttributes;
        var child = new ChildInfo
        {
            InitiatedEventId = initiated.EventId,
            WorkflowId = attributes.WorkflowId,
            WorkflowType = attributes.WorkflowType.Name,
            Namespace = attributes.Namespace,
            InitiatedAttributes = attributes.ToByteArray(),
            ParentClosePolicy = (int)attributes.ParentClosePolicy,
        };
        m.State.Children[initiated.EventId] = child;
        m.AddTask(TaskKind.StartChild, initiated.EventId, 0, m.Now);
        return child;
    }

    /// <summary>The StartChild task: create the child run, then tell the parent it started or could not.</summary>
    private async Task StartChildAsync(TaskRecord task)
    {
        var parentKey = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var (pending, metadata, requestId, root) = await ReadAsync(parentKey, c => c.State.IsOpen && c.State.Children.TryGetValue(task.EventId, out var child) && child.RunId is null
            ? (StartChildWorkflowExecutionInitiatedEventAttributes.Parser.ParseFrom(child.InitiatedAttributes), EventsOf(c)[(int)task.EventId - 1].UserMetadata,
                child.StartRequestId ?? $"{parentKey.RunId}/{task.EventId}", (c.State.RootWorkflowId ?? c.State.WorkflowId, c.State.RootRunId ?? c.State.RunId))
            : default((StartChildWorkflowExecutionInitiatedEventAttributes?, Temporalio.Api.Sdk.V1.UserMetadata?, string, (string, string)))).ConfigureAwait(false);
        string? childRunId = null;
        if (pending != null)
        {
            try
            {
                var created = await RunCrossRunAsync(ShardOf(parentKey.NamespaceId, pending.WorkflowId), new Cluster.CrossRunOperation.CreateChildRun(
                    parentKey, task.EventId, pending.ToByteArray(), metadata?.ToByteArray(), requestId!, root.Item1, root.Item2)).ConfigureAwait(false);
                childRunId = System.Text.Encoding.UTF8.GetString(created);
            }
            catch (ServiceException e) when (e.Kind == ErrorKind.AlreadyExists)
            {
                // Recorded in the parent as StartChildWorkflowExecutionFailed below.
            }
        }

        await UpdateAsync(parentKey, m =>
        {
            m.DeleteTask(TaskKind.StartChild, task.EventId, 0);
            if (!m.State.IsOpen || !m.State.Children.TryGetValue(task.EventId, out var child) || child.RunId != null)
            {
                return true;
            }

            if (childRunId is null)
            {
                m.State.Children.Remove(task.EventId);
                m.AddExternalEvent(
                    new HistoryEvent
                    {
                        EventType = EventType.StartChildWorkflowExecutionFailed,
                        StartChildWorkflowExecutionFailedEventAttributes = new()
                        {
                            Namespace = child.Namespace,
                            NamespaceId = m.State.NamespaceId,
                            WorkflowId = child.WorkflowId,
                            WorkflowType = new WorkflowType { Name = child.WorkflowType },
                            Cause = StartChildWorkflowExecutionFailedCause.WorkflowAlreadyExists,
                            InitiatedEventId = task.EventId,
                            WorkflowTaskCompletedEventId = pending?.WorkflowTaskCompletedEventId ?? 0,
                        },
                    },
                    () => ScheduleWorkflowTask(m));
                return true;
            }

            RecordChildStarted(m, child, childRunId);
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>Writes ChildWorkflowExecutionStarted for a pending child (buffered while a workflow task runs).</summary>
    private static void RecordChildStarted(Mutation m, ChildInfo child, string childRunId)
    {
        child.RunId = childRunId;
        var started = new HistoryEvent
        {
            EventType = EventType.ChildWorkflowExecutionStarted,
            ChildWorkflowExecutionStartedEventAttributes = new()
            {
                Namespace = child.Namespace,
                NamespaceId = m.State.NamespaceId,
                InitiatedEventId = child.InitiatedEventId,
                WorkflowExecution = new WorkflowExecution { WorkflowId = child.WorkflowId, RunId = childRunId },
                WorkflowType = new WorkflowType { Name = child.WorkflowType },
                Header = StartChildWorkflowExecutionInitiatedEventAttributes.Parser.ParseFrom(child.InitiatedAttributes).Header,
            },
        };
        m.AddExternalEvent(started, () => ScheduleWorkflowTask(m));
        child.StartedEventId = started.EventId; // 0 while buffered; set when the buffer is written
    }

    /// <summary>
    /// Creates the child run (or finds the one an earlier attempt of this task created). Its started event names its
    /// parent and the root of the tree, and carries the user metadata of the command that initiated it.
    /// </summary>
    private Task<string> CreateChildRunAsync(
        WorkflowKey parentKey, long initiatedEventId, StartChildWorkflowExecutionInitiatedEventAttributes a, Temporalio.Api.Sdk.V1.UserMetadata? metadata, string requestId,
        string rootWorkflowId, string rootRunId)
    {
        return WithWorkflowIdAsync(parentKey.NamespaceId, a.WorkflowId, async currentRunId =>
        {
            if (currentRunId != null)
            {
                var asStart = new StartWorkflowExecutionRequest { WorkflowId = a.WorkflowId, RequestId = requestId, WorkflowIdReusePolicy = a.WorkflowIdReusePolicy };
                var existing = await ReadAsync(new WorkflowKey(parentKey.NamespaceId, a.WorkflowId, currentRunId), c => CheckExisting(c.State, asStart)).ConfigureAwait(false);
                if (existing != null)
                {
                    return existing.RunId;
                }
            }

            var started = new WorkflowExecutionStartedEventAttributes
            {
                WorkflowId = a.WorkflowId,
                WorkflowType = a.WorkflowType,
                TaskQueue = a.TaskQueue,
                Input = a.Input,
                WorkflowExecutionTimeout = a.WorkflowExecutionTimeout,
                WorkflowRunTimeout = a.WorkflowRunTimeout,
                WorkflowTaskTimeout = a.WorkflowTaskTimeout,
                Memo = a.Memo,
                SearchAttributes = a.SearchAttributes,
                Header = a.Header,
                RetryPolicy = a.RetryPolicy,
                CronSchedule = a.CronSchedule,
                Priority = a.Priority,
                ParentWorkflowNamespace = a.Namespace,
                ParentWorkflowNamespaceId = parentKey.NamespaceId,
                ParentWorkflowExecution = new WorkflowExecution { WorkflowId = parentKey.WorkflowId, RunId = parentKey.RunId },
                ParentInitiatedEventId = initiatedEventId,
                RootWorkflowExecution = new WorkflowExecution { WorkflowId = rootWorkflowId, RunId = rootRunId },
            };
            var m = NewRun(parentKey.NamespaceId, a.WorkflowId, started, requestId, FirstDelay(a.CronSchedule, null), null, userMetadata: metadata);
            m.State.ParentWorkflowId = parentKey.WorkflowId;
            m.State.ParentRunId = parentKey.RunId;
            m.State.ParentInitiatedEventId = initiatedEventId;
            (m.State.RootWorkflowId, m.State.RootRunId) = (rootWorkflowId, rootRunId);
            await CreateRunAsync(m, currentRunId).ConfigureAwait(false);
            return m.State.RunId;
        });
    }

    /// <summary>As a run closes: tell its parent, and apply its own children's parent close policies.</summary>
    private static void AddCloseNotifications(Mutation m, long closeEventId, bool continuesAsNew)
    {
        var s = m.State;
        if (s.ParentRunId != null && !continuesAsNew)
        {
            m.AddTask(TaskKind.RecordChildClosed, closeEventId, 0, m.Now);
        }

        AddNexusCallbackTasks(m, closeEventId, continuesAsNew);

        // A run closed by its reset keeps its children running: they report to the reset run (Temporal 1.27+).
        foreach (var child in s.ResetRunId is null ? s.Children.Values : Enumerable.Empty<ChildInfo>())
        {
            if (child.RunId != null && child.ParentClosePolicy != (int)ParentClosePolicy.Abandon)
            {
                m.AddTask(TaskKind.ApplyParentClosePolicy, child.InitiatedEventId, 0, m.Now);
            }
        }
    }

    /// <summary>How many resets a child's outcome follows to reach its parent's current run (Temporal's limit).</summary>
    private const int MaxResetHops = 100;

    /// <summary>The RecordChildClosed task (on the closed child run): the child's outcome becomes a parent event.</summary>
    private async Task RecordChildClosedAsync(TaskRecord task)
    {
        var childKey = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var rowKey = new TaskKey(task.RunId, task.Kind, task.EventId, task.Attempt);
        var (parentKey, initiatedId, closeEvent, firstRunId) = await ReadAsync(childKey, c => (
            new WorkflowKey(task.NamespaceId, c.State.ParentWorkflowId!, c.State.ParentRunId!),
            c.State.ParentInitiatedEventId,
            EventsOf(c)[(int)c.State.CloseEventId - 1],
            c.State.FirstRunId)).ConfigureAwait(false);
        try
        {
            await RunCrossRunAsync(ShardOf(parentKey.NamespaceId, parentKey.WorkflowId), new Cluster.CrossRunOperation.RecordChildClosed(
                parentKey, initiatedId, closeEvent.ToByteArray(), firstRunId, task.WorkflowId, task.RunId, rowKey)).ConfigureAwait(false);
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            // The parent is gone: nothing to tell; drop the task.
            await UpdateAsync(childKey, m =>
            {
                m.DeleteTask(rowKey);
                return true;
            }).ConfigureAwait(false);
        }
    }

    /// <summary>On the parent's node: the child's outcome becomes a parent event, with the child's task row deleted in the same write.</summary>
    private async Task RecordChildClosedInParentAsync(Cluster.CrossRunOperation.RecordChildClosed op)
    {
        var closeEvent = HistoryEvent.Parser.ParseFrom(op.CloseEvent);
        var parentKey = op.Parent;

        // A parent closed by a reset passes the outcome on to its reset run (a chain of resets, bounded as in Temporal).
        for (var hops = 0; parentKey.RunId.Length > 0; hops++)
        {
            parentKey = parentKey with
            {
                RunId = await UpdateAsync(parentKey, m =>
                {
                    if (!m.State.IsOpen && m.State.ResetRunId is { } resetRun && hops < MaxResetHops)
                    {
                        return resetRun; // nothing changed here: the notification stays until delivered
                    }

                    m.DeleteTask(op.Row);
                    if (!m.State.IsOpen || !m.State.Children.TryGetValue(op.InitiatedEventId, out var child) || child.WorkflowId != op.ChildWorkflowId
                        || (child.RunId ?? op.FirstRunId) != op.FirstRunId)
                    {
                        return string.Empty;
                    }

                    if (child.RunId is null)
                    {
                        RecordChildStarted(m, child, op.FirstRunId); // a reset run that has not reconnected to it yet
                    }

                    m.State.Children.Remove(op.InitiatedEventId);
                    m.AddExternalEvent(ChildClosedEvent(child, m.State.NamespaceId, op.ChildRunId, closeEvent), () => ScheduleWorkflowTask(m));
                    return string.Empty;
                }).ConfigureAwait(false),
            };
        }
    }

    private static HistoryEvent ChildClosedEvent(ChildInfo child, string namespaceId, string closedRunId, HistoryEvent close)
    {
        var execution = new WorkflowExecution { WorkflowId = child.WorkflowId, RunId = closedRunId };
        var type = new WorkflowType { Name = child.WorkflowType };
        return close.AttributesCase switch
        {
            HistoryEvent.AttributesOneofCase.WorkflowExecutionCompletedEventAttributes => new HistoryEvent
            {
                EventType = EventType.ChildWorkflowExecutionCompleted,
                ChildWorkflowExecutionCompletedEventAttributes = new()
                {
                    Result = close.WorkflowExecutionCompletedEventAttributes.Result,
                    Namespace = child.Namespace,
                    NamespaceId = namespaceId,
                    WorkflowExecution = execution,
                    WorkflowType = type,
                    InitiatedEventId = child.InitiatedEventId,
                    StartedEventId = child.StartedEventId,
                },
            },
            HistoryEvent.AttributesOneofCase.WorkflowExecutionFailedEventAttributes => new HistoryEvent
            {
                EventType = EventType.ChildWorkflowExecutionFailed,
                ChildWorkflowExecutionFailedEventAttributes = new()
                {
                    Failure = close.WorkflowExecutionFailedEventAttributes.Failure,
                    Namespace = child.Namespace,
                    NamespaceId = namespaceId,
                    WorkflowExecution = execution,
                    WorkflowType = type,
                    InitiatedEventId = child.InitiatedEventId,
                    StartedEventId = child.StartedEventId,
                    RetryState = close.WorkflowExecutionFailedEventAttributes.RetryState,
                },
            },
            HistoryEvent.AttributesOneofCase.WorkflowExecutionCanceledEventAttributes => new HistoryEvent
            {
                EventType = EventType.ChildWorkflowExecutionCanceled,
                ChildWorkflowExecutionCanceledEventAttributes = new()
                {
                    Details = close.WorkflowExecutionCanceledEventAttributes.Details,
                    Namespace = child.Namespace,
                    NamespaceId = namespaceId,
                    WorkflowExecution = execution,
                    WorkflowType = type,
                    InitiatedEventId = child.InitiatedEventId,
                    StartedEventId = child.StartedEventId,
                },
            },
            HistoryEvent.AttributesOneofCase.WorkflowExecutionTimedOutEventAttributes => new HistoryEvent
            {
                EventType = EventType.ChildWorkflowExecutionTimedOut,
                ChildWorkflowExecutionTimedOutEventAttributes = new()
                {
                    Namespace = child.Namespace,
                    NamespaceId = namespaceId,
                    WorkflowExecution = execution,
                    WorkflowType = type,
                    InitiatedEventId = child.InitiatedEventId,
                    StartedEventId = child.StartedEventId,
                    RetryState = close.WorkflowExecutionTimedOutEventAttributes.RetryState,
                },
            },
            _ => new HistoryEvent
            {
                EventType = EventType.ChildWorkflowExecutionTerminated,
                ChildWorkflowExecutionTerminatedEventAttributes = new()
                {
                    Namespace = child.Namespace,
                    NamespaceId = namespaceId,
                    WorkflowExecution = execution,
                    WorkflowType = type,
                    InitiatedEventId = child.InitiatedEventId,
                    StartedEventId = child.StartedEventId,
                },
            },
        };
    }

    /// <summary>The ApplyParentClosePolicy task (on the closed parent): terminate or cancel the child's current run.</summary>
    private async Task ApplyParentClosePolicyAsync(TaskRecord task)
    {
        var parentKey = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var child = await ReadAsync(parentKey, c => c.State.Children.GetValueOrDefault(task.EventId)).ConfigureAwait(false);
        if (child?.RunId is { } firstRunId)
        {
            await RunCrossRunAsync(ShardOf(task.NamespaceId, child.WorkflowId), new Cluster.CrossRunOperation.ApplyParentClosePolicy(
                task.NamespaceId, child.WorkflowId, firstRunId, child.ParentClosePolicy)).ConfigureAwait(false);
        }

        await UpdateAsync(parentKey, m =>
        {
            m.DeleteTask(TaskKind.ApplyParentClosePolicy, task.EventId, 0);
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>On the child's node: terminate or cancel its current run if it is still of the chain the parent started.</summary>
    private async Task ApplyParentClosePolicyToChildAsync(Cluster.CrossRunOperation.ApplyParentClosePolicy op)
    {
        try
        {
            var current = await ResolveAsync(op.NamespaceId, op.ChildWorkflowId, null).ConfigureAwait(false);
            var sameChain = await ReadAsync(current, c => c.State.FirstRunId == op.FirstRunId && c.State.IsOpen).ConfigureAwait(false);
            if (sameChain && op.Policy == (int)ParentClosePolicy.Terminate)
            {
                await TerminateAsync(current, "by parent close policy", null, "bastion").ConfigureAwait(false);
            }
            else if (sameChain)
            {
                await RequestCancelAsync(current, new RequestCancelWorkflowExecutionRequest { Reason = "by parent close policy", Identity = "bastion" }).ConfigureAwait(false);
            }
        }
        catch (ServiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            // Already closed or gone: nothing to apply.
        }
    }
}
