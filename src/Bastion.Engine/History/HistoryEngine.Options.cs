using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Bastion.Engine.Tasks;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.History;

/// <summary>
/// UpdateWorkflowExecutionOptions: the versioning override of a running workflow, set or removed by the paths of the
/// update mask, recorded as WorkflowExecutionOptionsUpdated. A workflow task waiting for a worker is dispatched again,
/// so it goes to the version the override now names.
/// </summary>
internal sealed partial class HistoryEngine
{
    private const string VersioningOverridePath = "versioning_override";

    public Task<UpdateWorkflowExecutionOptionsResponse> UpdateWorkflowExecutionOptionsAsync(WorkflowKey key, UpdateWorkflowExecutionOptionsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var paths = request.UpdateMask?.Paths ?? [];
        if (paths.Count == 0)
        {
            throw ServiceException.InvalidArgument("UpdateMask is required");
        }

        foreach (var path in paths.Where(p => p is not (VersioningOverridePath or "versioningOverride")))
        {
            throw ServiceException.InvalidArgument($"error parsing UpdateMask: path {ServiceException.Quote(path, 100)} is not supported");
        }

        var requested = request.WorkflowExecutionOptions?.VersioningOverride is { } o && o.CalculateSize() > 0 ? o : null;
        ValidateOverride(requested);
        return UpdateAsync(key, m =>
        {
            var state = m.State;
            if (!state.IsOpen)
            {
                throw ServiceException.WorkflowCompleted();
            }

            var versioning = state.Versioning ?? new WorkflowVersioning();
            var before = versioning.Override;
            versioning.Override = WorkflowVersioning.Encode(requested);
            state.Versioning = versioning.IsEmpty ? null : versioning;
            if (!(before ?? []).AsSpan().SequenceEqual(versioning.Override ?? []))
            {
                m.AddExternalEvent(
                    new HistoryEvent
                    {
                        // As Temporal writes it: workers that do not know the event skip it.
                        WorkerMayIgnore = true,
                        EventType = EventType.WorkflowExecutionOptionsUpdated,
                        WorkflowExecutionOptionsUpdatedEventAttributes = new()
                        {
                            VersioningOverride = requested,
                            UnsetVersioningOverride = requested is null,
                            Identity = request.Identity,
                        },
                    },
                    static () => { });
                if (state.WorkflowTask is { IsStarted: false } task)
                {
                    // Same scheduled event and attempt: whichever queue a worker takes it from, it starts once.
                    m.AddTask(TaskKind.WorkflowTask, task.ScheduledEventId, task.Attempt, m.Now, state.TaskQueue);
                }

                m.MarkChanged();
            }

            return new UpdateWorkflowExecutionOptionsResponse
            {
                WorkflowExecutionOptions = new WorkflowExecutionOptions { VersioningOverride = requested },
            };
        });
    }

    /// <summary>An override names a behavior; a pinned one names its version (Temporal's checks).</summary>
    internal static void ValidateOverride(VersioningOverride? value)
    {
        if (value is null)
        {
            return;
        }

#pragma warning disable CS0612, CS0618 // The deprecated behavior field is still how older clients ask.
        switch (value.OverrideCase)
        {
            case VersioningOverride.OverrideOneofCase.Pinned:
                if (value.Pinned.Version is not { BuildId.Length: > 0, DeploymentName.Length: > 0 })
                {
                    throw ServiceException.InvalidArgument("must provide version if override is pinned.");
                }

                break;
            case VersioningOverride.OverrideOneofCase.AutoUpgrade:
                break;
            case VersioningOverride.OverrideOneofCase.None when value.Behavior == VersioningBehavior.Pinned:
                if (value.PinnedVersion.Length == 0 && value.Deployment is null)
                {
                    throw ServiceException.InvalidArgument("must provide version if override is pinned.");
                }

                break;
            case VersioningOverride.OverrideOneofCase.None when value.Behavior == VersioningBehavior.AutoUpgrade:
                break;
            default:
                throw ServiceException.InvalidArgument("override behavior is required");
        }
#pragma warning restore CS0612, CS0618
    }
}
