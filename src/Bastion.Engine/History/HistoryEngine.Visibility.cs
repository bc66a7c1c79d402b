using Bastion.Engine.Errors;
using Bastion.Engine.Visibility;
using Bastion.Storage;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Workflow.V1;

namespace Bastion.Engine.History;

internal sealed partial class HistoryEngine
{
    /// <summary>Search attributes given at start must be registered and of their type: else INVALID_ARGUMENT.</summary>
    private void RequireValidSearchAttributes(string namespaceId, SearchAttributes? attributes)
    {
        if (attributes is not null && _namespaces.FindById(namespaceId) is { } ns && SearchAttributeValues.Problem(ns, attributes) is { } problem)
        {
            throw ServiceException.InvalidArgument($"Invalid search attributes: {problem}");
        }
    }

    /// <summary>Search attributes set by commands (upsert, continue-as-new, child start): a bad one fails the workflow task, as in Temporal.</summary>
    private (WorkflowTaskFailedCause Cause, string Message)? SearchAttributeProblem(string namespaceId, RepeatedField<Command> commands)
    {
        if (_namespaces.FindById(namespaceId) is not { } ns)
        {
            return null;
        }

        foreach (var command in commands)
        {
            var attributes = command.AttributesCase switch
            {
                Command.AttributesOneofCase.UpsertWorkflowSearchAttributesCommandAttributes => command.UpsertWorkflowSearchAttributesCommandAttributes.SearchAttributes,
                Command.AttributesOneofCase.ContinueAsNewWorkflowExecutionCommandAttributes => command.ContinueAsNewWorkflowExecutionCommandAttributes.SearchAttributes,
                Command.AttributesOneofCase.StartChildWorkflowExecutionCommandAttributes => command.StartChildWorkflowExecutionCommandAttributes.SearchAttributes,
                _ => null,
            };
            if (SearchAttributeValues.Problem(ns, attributes) is { } problem)
            {
                return (WorkflowTaskFailedCause.BadSearchAttributes, $"{command.CommandType}: {problem}");
            }
        }

        return null;
    }

    /// <summary>
    /// The run's visibility row when what it shows changed since the last one written (created, status, search
    /// attributes or memo; the arrays are replaced, never edited, so a reference check suffices), else null.
    /// A run loaded from the store writes its row once more on its next transition (it may predate visibility).
    /// </summary>
    private VisibilityRecord? VisibilityIfChanged(WorkflowContext context)
    {
        var s = context.State;
        var current = (Status: s.ShownStatus, s.SearchAttributes, s.Memo, PauseInfo: PauseInfoAttribute.Entries(s));
        if (context.IndexedVisibility is { } indexed
            && indexed.Status == current.Status
            && ReferenceEquals(indexed.SearchAttributes, current.SearchAttributes)
            && ReferenceEquals(indexed.Memo, current.Memo)
            && PauseInfoAttribute.Same(indexed.PauseInfo, current.PauseInfo))
        {
            return null;
        }

        // Set before the commit: a failed commit evicts the context, so nothing stale survives.
        context.IndexedVisibility = current;
        return VisibilityOf(s);
    }

    private VisibilityRecord VisibilityOf(WorkflowState s)
    {
        var info = ExecutionInfoOf(s);

        // Customer text goes to the row's columns as blind indexes only; the info record is encrypted (docs/visibility.md).
        string Index(string attribute, string value) => VisibilityProtection.Index(_codec, s.NamespaceId, attribute, value);
        return new VisibilityRecord
        {
            WorkflowId = Index("WorkflowId", info.Execution.WorkflowId),
            WorkflowType = Index("WorkflowType", s.WorkflowType),
            Status = s.ShownStatus,
            StartTime = s.StartTime,
            ExecutionTime = s.ExecutionTime,
            CloseTime = s.CloseTime,
            ExecutionDurationNanos = s.CloseTime is { } closed ? (closed - s.ExecutionTime).Ticks * 100 : null,
            HistoryLength = info.HistoryLength,
            HistorySizeBytes = s.HistorySizeBytes,
            StateTransitionCount = s.StateTransitionCount,
            TaskQueue = Index("TaskQueue", s.TaskQueue),
            ParentWorkflowId = VisibilityProtection.IndexOrNull(_codec, s.NamespaceId, "ParentWorkflowId", s.ParentWorkflowId),
            ParentRunId = s.ParentRunId,
            RootWorkflowId = Index("RootWorkflowId", info.RootExecution.WorkflowId),
            RootRunId = info.RootExecution.RunId,
            SearchAttributesJson = VisibilityProtection.ProtectJson(
                SearchAttributeValues.ToJson(PauseInfoAttribute.Entries(s) is null ? s.SearchAttributes : info.SearchAttributes.ToByteArray()),
                s.NamespaceId,
                AttributesNamespace(s),
                _codec),
            Info = _codec.Encode(RecordIdentities.Visibility(s.NamespaceId, s.RunId), info.ToByteArray()),
        };
    }

    /// <summary>The namespace whose attribute types a run's row follows (a standalone Nexus operation's adds its own).</summary>
    private Namespaces.NamespaceEntry? AttributesNamespace(WorkflowState s) =>
        _namespaces.FindById(s.NamespaceId) is { } ns && s.NexusOperationId is not null ? Nexus.NexusOperationRuns.QueryNamespace(ns) : _namespaces.FindById(s.NamespaceId);

    /// <summary>What describe and list show of a run.</summary>
    private static WorkflowExecutionInfo ExecutionInfoOf(WorkflowState s) => new()
    {
        // A standalone activity's row shows its activity id (the run's workflow id is that id in a space of its own).
        Execution = new WorkflowExecution { WorkflowId = s.Standalone?.ActivityId ?? s.WorkflowId, RunId = s.RunId },
        Type = new WorkflowType { Name = s.WorkflowType },
        StartTime = Timestamp.FromDateTime(s.StartTime),
        CloseTime = ToTimestamp(s.CloseTime),
        Status = (WorkflowExecutionStatus)s.ShownStatus,
        HistoryLength = s.NextEventId - 1,
        ExecutionTime = Timestamp.FromDateTime(s.ExecutionTime),
        Memo = s.Memo is { } memo ? Memo.Parser.ParseFrom(memo) : new Memo(),
        SearchAttributes = SearchAttributesOf(s),
        TaskQueue = s.TaskQueue,
        StateTransitionCount = s.StateTransitionCount,
        HistorySizeBytes = s.HistorySizeBytes,
        FirstRunId = s.FirstRunId,
        ExecutionDuration = s.CloseTime is { } closed ? Duration.FromTimeSpan(closed - s.ExecutionTime) : null,
        ParentExecution = s.ParentWorkflowId is { } parent ? new WorkflowExecution { WorkflowId = parent, RunId = s.ParentRunId } : null,
        RootExecution = new WorkflowExecution { WorkflowId = s.RootWorkflowId ?? s.Standalone?.ActivityId ?? s.WorkflowId, RunId = s.RootRunId ?? s.RunId },
        VersioningInfo = s.Versioning?.ToInfo(),
        WorkerDeploymentName = s.Versioning?.DeploymentName ?? string.Empty,
    };

    /// <summary>The run's attributes as shown and indexed: its own, and <c>TemporalPauseInfo</c> while something is paused.</summary>
    private static SearchAttributes SearchAttributesOf(WorkflowState s)
    {
        var own = s.SearchAttributes is { } sa ? SearchAttributes.Parser.ParseFrom(sa) : new SearchAttributes();
        return PauseInfoAttribute.Entries(s) is { } entries ? PauseInfoAttribute.With(own, entries) : own;
    }
}
