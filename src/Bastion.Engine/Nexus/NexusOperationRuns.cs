using System.Text;
using Bastion.Engine.Namespaces;
using Bastion.Visibility;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Nexus.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Nexus;

/// <summary>
/// How a standalone Nexus operation is kept as a run (see <c>HistoryEngine.StandaloneNexus</c>): its workflow id, the
/// search attributes its visibility row carries (Temporal's <c>TemporalNamespaceDivision</c> and the operation's
/// Endpoint, Service and Operation, which list queries name), and its status in the operation's terms.
/// </summary>
internal static class NexusOperationRuns
{
    /// <summary>Put before the operation id: a hidden run's (<see cref="History.HiddenRuns"/>).</summary>
    public const string WorkflowIdPrefix = History.HiddenRuns.Mark + "nexus-operation" + History.HiddenRuns.Mark;

    /// <summary>The <c>TemporalNamespaceDivision</c> of an operation's row (workflow lists leave rows with a division out).</summary>
    public const string Division = "NexusOperation";

    private const string DivisionAttribute = "TemporalNamespaceDivision";

    /// <summary>The attributes a Nexus operation list query may name besides the system ones.</summary>
    private static readonly string[] s_operationAttributes = ["Endpoint", "Service", "Operation"];

    public static string WorkflowIdOf(string operationId) => WorkflowIdPrefix + operationId;

    public static string OperationIdOf(string workflowId) =>
        workflowId.StartsWith(WorkflowIdPrefix, StringComparison.Ordinal) ? workflowId[WorkflowIdPrefix.Length..] : workflowId;

    /// <summary>The namespace as an operation list query sees it: its attributes plus Endpoint, Service and Operation.</summary>
    public static NamespaceEntry QueryNamespace(NamespaceEntry ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var attributes = ns.SearchAttributes.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var name in s_operationAttributes)
        {
            attributes[name] = SearchAttributeType.Keyword;
        }

        return ns with { SearchAttributes = attributes };
    }

    /// <summary>The run's search attributes: the client's, the division, and the operation's endpoint, service and name.</summary>
    public static SearchAttributes SearchAttributesOf(StartNexusOperationExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var attributes = request.SearchAttributes?.Clone() ?? new SearchAttributes();
        attributes.IndexedFields[DivisionAttribute] = Keyword(Division);
        attributes.IndexedFields["Endpoint"] = Keyword(request.Endpoint);
        attributes.IndexedFields["Service"] = Keyword(request.Service);
        attributes.IndexedFields["Operation"] = Keyword(request.Operation);
        return attributes;
    }

    /// <summary>The search attributes a client set, without the ones the server keeps for the row.</summary>
    public static SearchAttributes UserSearchAttributes(byte[]? encoded) => UserSearchAttributes(encoded is null ? null : SearchAttributes.Parser.ParseFrom(encoded));

    public static SearchAttributes UserSearchAttributes(SearchAttributes? all)
    {
        var user = new SearchAttributes();
        foreach (var (name, value) in all?.IndexedFields ?? [])
        {
            if (name != DivisionAttribute && !s_operationAttributes.Contains(name))
            {
                user.IndexedFields[name] = value;
            }
        }

        return user;
    }

    public static NexusOperationExecutionStatus StatusOf(WorkflowExecutionStatus status) => status switch
    {
        WorkflowExecutionStatus.Running => NexusOperationExecutionStatus.Running,
        WorkflowExecutionStatus.Completed => NexusOperationExecutionStatus.Completed,
        WorkflowExecutionStatus.Canceled => NexusOperationExecutionStatus.Canceled,
        WorkflowExecutionStatus.Terminated => NexusOperationExecutionStatus.Terminated,
        WorkflowExecutionStatus.TimedOut => NexusOperationExecutionStatus.TimedOut,
        _ => NexusOperationExecutionStatus.Failed,
    };

    /// <summary>A list row: the run's visibility info in the operation's terms.</summary>
    public static NexusOperationExecutionListInfo ListInfoOf(WorkflowExecutionInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        string Text(string name) => run.SearchAttributes?.IndexedFields.TryGetValue(name, out var p) == true
            ? System.Text.Json.JsonSerializer.Deserialize<string>(Encoding.UTF8.GetString(p.Data.Span)) ?? string.Empty
            : string.Empty;
        return new NexusOperationExecutionListInfo
        {
            OperationId = OperationIdOf(run.Execution.WorkflowId),
            RunId = run.Execution.RunId,
            Endpoint = Text("Endpoint"),
            Service = Text("Service"),
            Operation = Text("Operation"),
            ScheduleTime = run.StartTime,
            CloseTime = run.CloseTime,
            Status = StatusOf(run.Status),
            SearchAttributes = UserSearchAttributes(run.SearchAttributes),
            StateTransitionCount = run.StateTransitionCount,
            ExecutionDuration = run.CloseTime is { } closed && run.StartTime is { } start ? Duration.FromTimeSpan(closed.ToDateTime() - start.ToDateTime()) : null,
        };
    }

    private static Payload Keyword(string value) => new()
    {
        Metadata =
        {
            ["encoding"] = ByteString.CopyFromUtf8("json/plain"),
            ["type"] = ByteString.CopyFromUtf8("Keyword"),
        },
        Data = ByteString.CopyFromUtf8(System.Text.Json.JsonSerializer.Serialize(value)),
    };
}
