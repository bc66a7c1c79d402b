using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using NexusLink = Temporalio.Api.Nexus.V1.Link;

namespace Bastion.Engine.Nexus;

/// <summary>
/// Links between the caller's and the handler's histories in Temporal's URL form
/// (<c>temporal:///namespaces/{ns}/workflows/{id}/{run}/history?referenceType=EventReference&amp;eventID=…&amp;eventType=…</c>):
/// the caller's Scheduled event travels to the handler in the start request; the handler's links come back on the
/// Started event.
/// </summary>
internal static class NexusLinks
{
    private const string WorkflowEventType = "temporal.api.common.v1.Link.WorkflowEvent";

    /// <summary>A link to one event of a run.</summary>
    public static NexusLink ToEvent(string ns, string workflowId, string runId, long eventId, EventType type) => new()
    {
        Type = WorkflowEventType,
        Url = $"temporal:///namespaces/{Uri.EscapeDataString(ns)}/workflows/{Uri.EscapeDataString(workflowId)}/{Uri.EscapeDataString(runId)}/history"
            + $"?referenceType=EventReference&eventID={eventId}&eventType={EventTypeReflection.Descriptor.EnumTypes[0].FindValueByNumber((int)type).Name}",
    };

    /// <summary>A link to a standalone Nexus operation (Temporal's <c>/nexus-operations/{id}/{run}/details</c> form).</summary>
    public static NexusLink ToOperation(string ns, string operationId, string runId) => new()
    {
        Type = "temporal.api.common.v1.Link.NexusOperation",
        Url = $"temporal:///namespaces/{Uri.EscapeDataString(ns)}/nexus-operations/{Uri.EscapeDataString(operationId)}/{Uri.EscapeDataString(runId)}/details",
    };

    /// <summary>A handler's link as a history event's link; null when it is not a workflow event link this server reads.</summary>
    public static Link? FromNexus(NexusLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (link.Type != WorkflowEventType || !Uri.TryCreate(link.Url, UriKind.Absolute, out var url) || url.Scheme != "temporal")
        {
            return null;
        }

        var path = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (path is not ["namespaces", var ns, "workflows", var workflowId, var runId, "history"])
        {
            return null;
        }

        var query = url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : string.Empty, StringComparer.Ordinal);
        var workflowEvent = new Link.Types.WorkflowEvent
        {
            Namespace = Uri.UnescapeDataString(ns),
            WorkflowId = Uri.UnescapeDataString(workflowId),
            RunId = Uri.UnescapeDataString(runId),
        };
        var type = EventTypeOf(query.GetValueOrDefault("eventType"));
        if (query.GetValueOrDefault("referenceType") == "RequestIdReference")
        {
            workflowEvent.RequestIdRef = new Link.Types.WorkflowEvent.Types.RequestIdReference { RequestId = query.GetValueOrDefault("requestID") ?? string.Empty, EventType = type };
        }
        else
        {
            workflowEvent.EventRef = new Link.Types.WorkflowEvent.Types.EventReference
            {
                EventId = long.TryParse(query.GetValueOrDefault("eventID"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : 0,
                EventType = type,
            };
        }

        return new Link { WorkflowEvent = workflowEvent };
    }

    /// <summary>An event type by its proto name (<c>EVENT_TYPE_WORKFLOW_EXECUTION_STARTED</c>) or its short name (<c>WorkflowExecutionStarted</c>).</summary>
    private static EventType EventTypeOf(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return EventType.Unspecified;
        }

        var byProtoName = EventTypeReflection.Descriptor.EnumTypes[0].FindValueByName(name);
        return byProtoName is not null ? (EventType)byProtoName.Number
            : Enum.TryParse<EventType>(name, ignoreCase: false, out var parsed) ? parsed : EventType.Unspecified;
    }
}
