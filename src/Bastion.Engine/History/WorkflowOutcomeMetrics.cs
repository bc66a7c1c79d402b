using System.Diagnostics.Metrics;
using Bastion.Storage.Telemetry;
using Temporalio.Api.Enums.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Temporal's workflow outcome counters (<c>workflow_success</c>, <c>workflow_failed</c>, <c>workflow_timeout</c>,
/// <c>workflow_terminate</c>, <c>workflow_cancel</c>, <c>workflow_continued_as_new</c>) by <c>namespace</c>, counted
/// once per run: by the transition that wrote its close event.
/// </summary>
internal static class WorkflowOutcomeMetrics
{
    public static void RecordIfClosed(Mutation mutation, Namespaces.NamespaceRegistry namespaces)
    {
        var state = mutation.Context.State;
        if (state.IsOpen || mutation.Events.Count == 0 || mutation.Events[^1].EventId < state.CloseEventId || mutation.Events[0].EventId > state.CloseEventId)
        {
            return;
        }

        Counter<long>? counter = (WorkflowExecutionStatus)state.Status switch
        {
            WorkflowExecutionStatus.Completed => ServerMetrics.WorkflowSuccess,
            WorkflowExecutionStatus.Failed => ServerMetrics.WorkflowFailed,
            WorkflowExecutionStatus.TimedOut => ServerMetrics.WorkflowTimeout,
            WorkflowExecutionStatus.Terminated => ServerMetrics.WorkflowTerminate,
            WorkflowExecutionStatus.Canceled => ServerMetrics.WorkflowCancel,
            WorkflowExecutionStatus.ContinuedAsNew => ServerMetrics.WorkflowContinuedAsNew,
            _ => null,
        };
        if (counter is { Enabled: true })
        {
            counter.Add(1, new KeyValuePair<string, object?>("namespace", namespaces.FindById(state.NamespaceId)?.FullName ?? ServerMetrics.Unknown));
        }
    }
}
