using Bastion.Engine.Errors;
using Temporalio.Api.Batch.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.Batch;

/// <summary>
/// Where a batch reset takes each run, as Temporal's batcher finds it: the first or the last completed workflow task
/// (a run with none: just after its first, resp. last, scheduled task), or a workflow task event the request names.
/// Its reapply settings come from the same place (the options, else the operation's older fields).
/// </summary>
internal static class BatchResetPoint
{
    /// <summary>Temporal's checks of the operation when the job starts, with its texts.</summary>
    public static void Validate(BatchOperationReset reset)
    {
        if (reset.PostResetOperations.Count > 0)
        {
            throw ServiceException.InvalidArgument("PostResetOperations are not supported by this server; reset without them.");
        }

        if (reset.Options is { } options)
        {
            switch (options.TargetCase)
            {
                case ResetOptions.TargetOneofCase.None:
                    throw ServiceException.InvalidArgument("batch reset missing target");
                case ResetOptions.TargetOneofCase.BuildId:
                    // Build-id reset points come from a run's auto-reset points, which this server does not keep.
                    throw ServiceException.InvalidArgument("A batch reset to a build id is not supported by this server: reset to the first or last workflow task, or to a workflow task event id.");
            }

            return;
        }

#pragma warning disable CS0612 // The older fields: still what the CLI's `workflow reset --type` sends.
        if (reset.ResetType is not (ResetType.FirstWorkflowTask or ResetType.LastWorkflowTask))
        {
            throw ServiceException.InvalidArgument($"unknown batch reset type {reset.ResetType}");
        }
#pragma warning restore CS0612
    }

    /// <summary>The WorkflowTaskFinishEventId the run is reset to, from its history.</summary>
    public static long EventIdOf(BatchOperationReset reset, IReadOnlyList<HistoryEvent> events)
    {
#pragma warning disable CS0612 // The older fields, when no options are given.
        var target = reset.Options?.TargetCase ?? (reset.ResetType == ResetType.FirstWorkflowTask
            ? ResetOptions.TargetOneofCase.FirstWorkflowTask
            : ResetOptions.TargetOneofCase.LastWorkflowTask);
#pragma warning restore CS0612
        return target switch
        {
            ResetOptions.TargetOneofCase.WorkflowTaskId => reset.Options!.WorkflowTaskId,
            ResetOptions.TargetOneofCase.FirstWorkflowTask => Find(events, first: true),
            _ => Find(events, first: false),
        };
    }

    /// <summary>The reapply type and exclusions the reset request carries.</summary>
    public static (ResetReapplyType Type, IEnumerable<ResetReapplyExcludeType> Exclude) ReapplyOf(BatchOperationReset reset) =>
#pragma warning disable CS0612
        reset.Options is { } options ? (options.ResetReapplyType, options.ResetReapplyExcludeTypes) : (reset.ResetReapplyType, []);
#pragma warning restore CS0612

    /// <summary>The first (or last) completed workflow task; a run with none: the task after its first scheduled one (Temporal's choice).</summary>
    private static long Find(IReadOnlyList<HistoryEvent> events, bool first)
    {
        var completed = events.Where(e => e.EventType == EventType.WorkflowTaskCompleted);
        if ((first ? completed.FirstOrDefault() : completed.LastOrDefault()) is { } e)
        {
            return e.EventId;
        }

        return events.FirstOrDefault(e => e.EventType == EventType.WorkflowTaskScheduled) is { } scheduled
            ? scheduled.EventId + 1
            : throw new ServiceException(ErrorKind.FailedPrecondition, "unable to find any scheduled or completed task");
    }
}
