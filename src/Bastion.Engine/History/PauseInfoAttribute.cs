using System.Text.Json;
using Bastion.Visibility;
using Google.Protobuf;
using Temporalio.Api.Common.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Temporal's <c>TemporalPauseInfo</c> system search attribute (a KeywordList): what of a run is paused, as entries
/// <c>Workflow:&lt;workflow id&gt;</c> and <c>Reason:&lt;reason&gt;</c> while the workflow is paused, and
/// <c>property:activityType=&lt;type&gt;</c> for each type of paused activity — Temporal's entries, so the same
/// queries find the same runs (a batch unpause by type selects through it). It is derived from the state when the
/// run's row and description are built, never stored with the workflow's own attributes, so it is always current
/// (pause, unpause, reset, an activity's end, the workflow's) and no continue-as-new or reset carries it over.
/// </summary>
internal static class PauseInfoAttribute
{
    public const string ActivityTypePrefix = "property:activityType=";

    /// <summary>The entries, or null when nothing is paused (no allocation then: this runs on every transition).</summary>
    public static string[]? Entries(WorkflowState s)
    {
        List<string>? entries = null;
        if (s.Pause is { } paused && s.IsOpen)
        {
            entries = [$"Workflow:{s.WorkflowId}"];
            if (paused.Reason.Length > 0)
            {
                entries.Add($"Reason:{paused.Reason}");
            }
        }

        foreach (var activity in s.Activities.Values)
        {
            if (activity.Paused)
            {
                var entry = ActivityTypePrefix + activity.ActivityType;
                entries ??= [];
                if (!entries.Contains(entry, StringComparer.Ordinal))
                {
                    entries.Add(entry);
                }
            }
        }

        return entries?.ToArray();
    }

    /// <summary>The run's attributes with the entries added (a KeywordList payload as Temporal encodes one).</summary>
    public static SearchAttributes With(SearchAttributes attributes, string[] entries)
    {
        var merged = attributes.Clone();
        merged.IndexedFields[SystemAttributes.PauseInfo] = new Payload
        {
            Metadata =
            {
                ["encoding"] = ByteString.CopyFromUtf8("json/plain"),
                ["type"] = ByteString.CopyFromUtf8(nameof(SearchAttributeType.KeywordList)),
            },
            Data = ByteString.CopyFromUtf8(JsonSerializer.Serialize(entries, PauseInfoJsonContext.Default.StringArray)),
        };
        return merged;
    }

    /// <summary>Whether two entry lists are the same (null: nothing paused).</summary>
    public static bool Same(string[]? a, string[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class PauseInfoJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
