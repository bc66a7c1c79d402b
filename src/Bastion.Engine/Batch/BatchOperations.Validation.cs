using Bastion.Engine.Errors;
using Temporalio.Api.Batch.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Operation = Temporalio.Api.WorkflowService.V1.StartBatchOperationRequest.OperationOneofCase;

namespace Bastion.Engine.Batch;

/// <summary>What a batch request must hold (Temporal's messages where it has them), and what it means.</summary>
internal sealed partial class BatchOperations
{
    private static void Validate(StartBatchOperationRequest request)
    {
        RequireJobId(request.JobId);
        RequireReason(request.Reason);
        var selectors = (request.VisibilityQuery.Length > 0 ? 1 : 0) + (LegacyExecutions(request).Count > 0 ? 1 : 0) + (request.TargetExecutions.Count > 0 ? 1 : 0);
        if (selectors == 0)
        {
            throw ServiceException.InvalidArgument("VisibilityQuery, Executions, or TargetExecutions must be set on request.");
        }

        if (selectors > 1)
        {
            throw ServiceException.InvalidArgument("visibility query, executions, and target executions are mutually exclusive");
        }

        if (LegacyExecutions(request).Count + request.TargetExecutions.Count > MaxExecutions)
        {
            throw ServiceException.InvalidArgument($"Workflow executions count exceeded: at most {MaxExecutions} executions.");
        }

        var targetType = TargetTypeOf(request);
        for (var i = 0; i < request.TargetExecutions.Count; i++)
        {
            if (request.TargetExecutions[i].Type != targetType)
            {
                throw ServiceException.InvalidArgument(
                    $"target_executions[{i}] has type {request.TargetExecutions[i].Type}, but operation {request.OperationCase} requires {targetType}.");
            }
        }

        if (request.MaxOperationsPerSecond < 0)
        {
            throw ServiceException.InvalidArgument("MaxOperationsPerSecond must not be negative.");
        }

        switch (request.OperationCase)
        {
            case Operation.None:
                throw ServiceException.InvalidArgument("Batch operation is not set on request.");
            case Operation.TerminationOperation:
            case Operation.CancellationOperation:
            case Operation.DeletionOperation:
            case Operation.TerminateActivitiesOperation:
            case Operation.CancelActivitiesOperation:
            case Operation.DeleteActivitiesOperation:
                break;
            case Operation.SignalOperation:
                if (string.IsNullOrEmpty(request.SignalOperation.Signal))
                {
                    throw ServiceException.InvalidArgument("SignalOperation.Signal is not set on request.");
                }

                break;
            case Operation.ResetOperation:
                BatchResetPoint.Validate(request.ResetOperation);
                break;
            case Operation.UpdateWorkflowOptionsOperation:
                if (request.UpdateWorkflowOptionsOperation.WorkflowExecutionOptions is null)
                {
                    throw ServiceException.InvalidArgument("must provide UpdateOptions");
                }

                if (request.UpdateWorkflowOptionsOperation.UpdateMask is null)
                {
                    throw ServiceException.InvalidArgument("must provide UpdateMask");
                }

                break;
            case Operation.UnpauseActivitiesOperation:
                var unpause = request.UnpauseActivitiesOperation;
                RequireActivityFilter(unpause.ActivityCase == BatchOperationUnpauseActivities.ActivityOneofCase.None ? null : unpause.Type, unpause.MatchAll, "activity filter must be set");
                break;
            case Operation.ResetActivitiesOperation:
                var reset = request.ResetActivitiesOperation;
                RequireActivityFilter(reset.ActivityCase == BatchOperationResetActivities.ActivityOneofCase.None ? null : reset.Type, reset.MatchAll, "must provide ActivityType or MatchAll");
                break;
            case Operation.UpdateActivityOptionsOperation:
                var update = request.UpdateActivityOptionsOperation;
                if (update.ActivityOptions is not null && update.RestoreOriginal)
                {
                    throw ServiceException.InvalidArgument("cannot set both activity options and restore original");
                }

                if (update.ActivityOptions is null && !update.RestoreOriginal)
                {
                    throw ServiceException.InvalidArgument("Either activity type must be set, or restore original should be set to true");
                }

                if (update.ActivityOptions is not null && update.UpdateMask is null)
                {
                    throw ServiceException.InvalidArgument("UpdateMask is not provided");
                }

                RequireActivityFilter(
                    update.ActivityCase == BatchOperationUpdateActivityOptions.ActivityOneofCase.None ? null : update.Type,
                    update.MatchAll,
                    "Either activity type must be set, or match all should be set to true");
                break;
            default:
                throw ServiceException.InvalidArgument($"The operation type {request.OperationCase} is not supported.");
        }
    }

    /// <summary>An activity operation names a type or all activities (Temporal's texts); <paramref name="type"/> null: neither was set.</summary>
    private static void RequireActivityFilter(string? type, bool matchAll, string whenUnset)
    {
        if (type is null)
        {
            throw ServiceException.InvalidArgument(whenUnset);
        }

        if (type.Length == 0 && !matchAll)
        {
            throw ServiceException.InvalidArgument("Either activity type must be set, or match all should be set to true");
        }
    }

    private static void RequireJobId(string? jobId)
    {
        if (string.IsNullOrEmpty(jobId))
        {
            throw ServiceException.InvalidArgument("JobId is not set on request.");
        }
    }

    private static void RequireReason(string? reason)
    {
        if (string.IsNullOrEmpty(reason))
        {
            throw ServiceException.InvalidArgument("Reason is not set on request.");
        }
    }

    /// <summary>
    /// The query the job walks: as Temporal, operations that only apply to open executions select running and paused
    /// ones; delete and reset take closed runs too. For the standalone-activity operations it is an activity query
    /// (<see cref="TargetsStandaloneActivities"/>).
    /// </summary>
    private static string? TargetQuery(StartBatchOperationRequest request) => request.VisibilityQuery.Length == 0
        ? null
        : request.OperationCase is Operation.DeletionOperation or Operation.ResetOperation or Operation.DeleteActivitiesOperation
            ? request.VisibilityQuery
            : $"({SelectionQuery(request)}) AND (ExecutionStatus='Running' OR ExecutionStatus='Paused')";

    /// <summary>As Temporal: an unpause by activity type selects the runs whose TemporalPauseInfo names that type, whatever the query.</summary>
    private static string SelectionQuery(StartBatchOperationRequest request)
    {
        if (request.OperationCase != Operation.UnpauseActivitiesOperation
            || request.UnpauseActivitiesOperation.ActivityCase != BatchOperationUnpauseActivities.ActivityOneofCase.Type)
        {
            return request.VisibilityQuery;
        }

        // A quoted literal of the list filter: backslash escapes the quote and itself.
        var entry = History.PauseInfoAttribute.ActivityTypePrefix + request.UnpauseActivitiesOperation.Type;
        var quoted = entry.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
        return $"{Bastion.Visibility.SystemAttributes.PauseInfo} = '{quoted}'";
    }

    /// <summary>
    /// Whether the job's targets are standalone activities (selected through the activity visibility, named by
    /// activity id in an explicit list) rather than workflow runs.
    /// </summary>
    private static bool TargetsStandaloneActivities(StartBatchOperationRequest request) =>
        request.OperationCase is Operation.TerminateActivitiesOperation or Operation.CancelActivitiesOperation or Operation.DeleteActivitiesOperation;

    private static ExecutionType TargetTypeOf(StartBatchOperationRequest request) =>
        TargetsStandaloneActivities(request) ? ExecutionType.Activity : ExecutionType.Workflow;

#pragma warning disable CS0612 // The only names this API version has for these types (Temporal's server writes them too).
    private static BatchOperationType OperationTypeOf(StartBatchOperationRequest request) => request.OperationCase switch
    {
        Operation.TerminationOperation => BatchOperationType.Terminate,
        Operation.CancellationOperation => BatchOperationType.Cancel,
        Operation.SignalOperation => BatchOperationType.Signal,
        Operation.DeletionOperation => BatchOperationType.Delete,
        Operation.ResetOperation => BatchOperationType.Reset,
        Operation.UpdateWorkflowOptionsOperation => BatchOperationType.UpdateExecutionOptions,
        Operation.UnpauseActivitiesOperation => BatchOperationType.UnpauseActivity,
        Operation.ResetActivitiesOperation => BatchOperationType.ResetActivity,
        Operation.UpdateActivityOptionsOperation => BatchOperationType.UpdateActivityOptions,
        Operation.TerminateActivitiesOperation => BatchOperationType.TerminateActivity,
        Operation.CancelActivitiesOperation => BatchOperationType.CancelActivity,
        Operation.DeleteActivitiesOperation => BatchOperationType.DeleteActivity,
        _ => BatchOperationType.Unspecified,
    };
#pragma warning restore CS0612

#pragma warning disable CS0612 // Deprecated for target_executions, but clients still send it: one place reads it.
    private static Google.Protobuf.Collections.RepeatedField<Temporalio.Api.Common.V1.WorkflowExecution> LegacyExecutions(StartBatchOperationRequest request) =>
        request.Executions;
#pragma warning restore CS0612

    private static string IdentityOf(StartBatchOperationRequest request) => request.OperationCase switch
    {
        Operation.TerminationOperation => request.TerminationOperation.Identity,
        Operation.CancellationOperation => request.CancellationOperation.Identity,
        Operation.SignalOperation => request.SignalOperation.Identity,
        Operation.DeletionOperation => request.DeletionOperation.Identity,
        Operation.ResetOperation => request.ResetOperation.Identity,
        Operation.UpdateWorkflowOptionsOperation => request.UpdateWorkflowOptionsOperation.Identity,
        Operation.UnpauseActivitiesOperation => request.UnpauseActivitiesOperation.Identity,
        Operation.ResetActivitiesOperation => request.ResetActivitiesOperation.Identity,
        Operation.UpdateActivityOptionsOperation => request.UpdateActivityOptionsOperation.Identity,
        Operation.TerminateActivitiesOperation => request.TerminateActivitiesOperation.Identity,
        Operation.CancelActivitiesOperation => request.CancelActivitiesOperation.Identity,
        _ => string.Empty, // delete (of workflows or activities) carries no identity of its own, as in Temporal
    };
}
