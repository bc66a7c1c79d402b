using Google.Protobuf;
using Bastion.Engine.Errors;
using Bastion.Engine.Tasks;
using Bastion.Storage;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Signals and cancel requests a workflow sends to another workflow of its namespace. The command writes an
/// Initiated event and a task; the task delivers to the target (deduplicated by a request id made of the
/// source run and event, so a retry after a crash delivers once) and records the outcome in the source.
/// </summary>
internal sealed partial class HistoryEngine
{
    private static void SignalExternal(Mutation m, SignalExternalWorkflowExecutionCommandAttributes a, long completedEventId)
    {
#pragma warning disable CS0612 // Deprecated, but SDKs send it and read it back in the events.
        var ns = a.Namespace;
#pragma warning restore CS0612
        var initiated = m.AddEvent(new HistoryEvent
        {
            EventType = EventType.SignalExternalWorkflowExecutionInitiated,
            SignalExternalWorkflowExecutionInitiatedEventAttributes = new()
            {
                WorkflowTaskCompletedEventId = completedEventId,
                Namespace = ns,
                NamespaceId = m.State.NamespaceId,
                WorkflowExecution = a.Execution,
                SignalName = a.SignalName,
                Input = a.Input,
                ChildWorkflowOnly = a.ChildWorkflowOnly,
                Header = a.Header,
            },
        });
        TrackExternal(m, initiated);
    }

    private static void CancelExternal(Mutation m, RequestCancelExternalWorkflowExecutionCommandAttributes a, long completedEventId)
    {
#pragma warning disable CS0612 // Deprecated, but SDKs send it and read it back in the events.
        var ns = a.Namespace;
#pragma warning restore CS0612
        var initiated = m.AddEvent(new HistoryEvent
        {
            EventType = EventType.RequestCancelExternalWorkflowExecutionInitiated,
            RequestCancelExternalWorkflowExecutionInitiatedEventAttributes = new()
            {
                WorkflowTaskCompletedEventId = completedEventId,
                Namespace = ns,
                NamespaceId = m.State.NamespaceId,
                WorkflowExecution = new WorkflowExecution { WorkflowId = a.WorkflowId, RunId = a.RunId },
                ChildWorkflowOnly = a.ChildWorkflowOnly,
                Reason = a.Reason,
            },
        });
        TrackExternal(m, initiated);
    }

    /// <summary>The pending delivery an Initiated event (signal or cancel request) stands for, with its task.</summary>
    private static void TrackExternal(Mutation m, HistoryEvent initiated)
    {
        var cancel = initiated.EventType == EventType.RequestCancelExternalWorkflowExecutionInitiated;
        m.State.PendingExternal[initiated.EventId] = cancel;
        m.AddTask(cancel ? TaskKind.CancelExternal : TaskKind.SignalExternal, initiated.EventId, 0, m.Now);
    }

    /// <summary>The SignalExternal / CancelExternal task: deliver, then record the outcome in the source run.</summary>
    private async Task DeliverExternalAsync(TaskRecord task)
    {
        var sourceKey = new WorkflowKey(task.NamespaceId, task.WorkflowId, task.RunId);
        var initiated = await ReadAsync(sourceKey, c => c.State.IsOpen && c.State.PendingExternal.ContainsKey(task.EventId)
            ? EventsOf(c)[(int)task.EventId - 1]
            : null).ConfigureAwait(false);
        var delivered = false;
        WorkflowExecution? target = null;
        if (initiated != null)
        {
            var signal = initiated.SignalExternalWorkflowExecutionInitiatedEventAttributes;
            var cancel = initiated.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes;
            target = signal?.WorkflowExecution ?? cancel.WorkflowExecution;
            var requestId = $"{task.RunId}/{task.EventId}";
            try
            {
                IMessage request = signal != null
                    ? new SignalWorkflowExecutionRequest
                    {
                        SignalName = signal.SignalName,
                        Input = signal.Input,
                        Header = signal.Header,
                        RequestId = requestId,
                        Identity = $"workflow {task.WorkflowId}",
                    }
                    : new RequestCancelWorkflowExecutionRequest
                    {
                        RequestId = requestId,
                        Reason = cancel.Reason,
                        Identity = $"workflow {task.WorkflowId}",
                    };
                await RunCrossRunAsync(ShardOf(task.NamespaceId, target.WorkflowId), new Cluster.CrossRunOperation.DeliverExternal(
                    task.NamespaceId, target.WorkflowId, string.IsNullOrEmpty(target.RunId) ? null : target.RunId, signal != null, request.ToByteArray())).ConfigureAwait(false);
                delivered = true;
            }
            catch (ServiceException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.InvalidArgument)
            {
                // Recorded as the initiated command's failure: the target does not exist or has closed.
            }
        }

        await UpdateAsync(sourceKey, m =>
        {
            m.DeleteTask((TaskKind)task.Kind, task.EventId, 0);
            if (!m.State.IsOpen || !m.State.PendingExternal.Remove(task.EventId))
            {
                return true;
            }

            m.AddExternalEvent(ExternalOutcome((TaskKind)task.Kind, initiated!, target!, delivered), () => ScheduleWorkflowTask(m));
            return true;
        }).ConfigureAwait(false);
    }

    private static HistoryEvent ExternalOutcome(TaskKind kind, HistoryEvent initiated, WorkflowExecution target, bool delivered)
    {
        if (kind == TaskKind.SignalExternal)
        {
            var a = initiated.SignalExternalWorkflowExecutionInitiatedEventAttributes;
            return delivered
                ? new HistoryEvent
                {
                    EventType = EventType.ExternalWorkflowExecutionSignaled,
                    ExternalWorkflowExecutionSignaledEventAttributes = new()
                    {
                        InitiatedEventId = initiated.EventId,
                        Namespace = a.Namespace,
                        NamespaceId = a.NamespaceId,
                        WorkflowExecution = target,
                    },
                }
                : new HistoryEvent
                {
                    EventType = EventType.SignalExternalWorkflowExecutionFailed,
                    SignalExternalWorkflowExecutionFailedEventAttributes = new()
                    {
                        Cause = SignalExternalWorkflowExecutionFailedCause.ExternalWorkflowExecutionNotFound,
                        WorkflowTaskCompletedEventId = a.WorkflowTaskCompletedEventId,
                        Namespace = a.Namespace,
                        NamespaceId = a.NamespaceId,
                        WorkflowExecution = target,
                        InitiatedEventId = initiated.EventId,
                    },
                };
        }

        var c = initiated.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes;
        return delivered
            ? new HistoryEvent
            {
                EventType = EventType.ExternalWorkflowExecutionCancelRequested,
                ExternalWorkflowExecutionCancelRequestedEventAttributes = new()
                {
                    InitiatedEventId = initiated.EventId,
                    Namespace = c.Namespace,
                    NamespaceId = c.NamespaceId,
                    WorkflowExecution = target,
                },
            }
            : new HistoryEvent
            {
                EventType = EventType.RequestCancelExternalWorkflowExecutionFailed,
                RequestCancelExternalWorkflowExecutionFailedEventAttributes = new()
                {
                    Cause = CancelExternalWorkflowExecutionFailedCause.ExternalWorkflowExecutionNotFound,
                    WorkflowTaskCompletedEventId = c.WorkflowTaskCompletedEventId,
                    Namespace = c.Namespace,
                    NamespaceId = c.NamespaceId,
                    WorkflowExecution = target,
                    InitiatedEventId = initiated.EventId,
                },
            };
    }

    /// <summary>On the target's node: the signal or cancel request a workflow sent.</summary>
    private async Task DeliverExternalToTargetAsync(Cluster.CrossRunOperation.DeliverExternal op)
    {
        var key = await ResolveAsync(op.NamespaceId, op.WorkflowId, op.RunId).ConfigureAwait(false);
        if (op.IsSignal)
        {
            await SignalAsync(key, SignalWorkflowExecutionRequest.Parser.ParseFrom(op.Request)).ConfigureAwait(false);
        }
        else
        {
            await RequestCancelAsync(key, RequestCancelWorkflowExecutionRequest.Parser.ParseFrom(op.Request)).ConfigureAwait(false);
        }
    }
}
