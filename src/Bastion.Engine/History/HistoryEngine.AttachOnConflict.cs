using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// A start that met a running workflow under the USE_EXISTING conflict policy may attach to it
/// (<c>on_conflict_options</c>): its request id, its completion callbacks (a second Nexus operation backed by the
/// same run then hears of its close too) and its links, recorded as Temporal does in a WorkflowExecutionOptionsUpdated event.
/// </summary>
internal sealed partial class HistoryEngine
{
    private Task AttachOnConflictAsync(WorkflowKey current, StartWorkflowExecutionRequest request, OnConflictOptions attach)
    {
        if (!attach.AttachRequestId && !attach.AttachCompletionCallbacks && !attach.AttachLinks)
        {
            return Task.CompletedTask;
        }

        return UpdateAsync(current, m =>
        {
            // Closed meanwhile, or this request attached already (a retry): nothing more to record.
            if (!m.State.IsOpen || (!string.IsNullOrEmpty(request.RequestId) && m.State.AttachedRequestIds.Contains(request.RequestId)))
            {
                return true;
            }

            var updated = new HistoryEvent
            {
                EventType = EventType.WorkflowExecutionOptionsUpdated,
                WorkflowExecutionOptionsUpdatedEventAttributes = new() { Identity = request.Identity },

                // As Temporal marks it: SDKs that do not know the event skip it instead of failing the workflow task.
                WorkerMayIgnore = true,
            };
            if (attach.AttachRequestId && !string.IsNullOrEmpty(request.RequestId))
            {
                updated.WorkflowExecutionOptionsUpdatedEventAttributes.AttachedRequestId = request.RequestId;
                m.State.AttachedRequestIds.Add(request.RequestId);
            }

            if (attach.AttachCompletionCallbacks)
            {
                updated.WorkflowExecutionOptionsUpdatedEventAttributes.AttachedCompletionCallbacks.AddRange(request.CompletionCallbacks);
                AttachNexusCallbacks(m, request.CompletionCallbacks);
            }

            if (attach.AttachLinks)
            {
                updated.Links.AddRange(request.Links);
            }

            // Nothing for the workflow's code to act on: written (or buffered behind a running task) without a new task.
            m.AddExternalEvent(updated, () => { });
            return true;
        });
    }
}
