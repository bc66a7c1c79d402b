using System.Buffers.Text;
using System.Text;

namespace Bastion.Engine.Nexus;

/// <summary>
/// Where an async operation's outcome goes: the caller's run and the operation's scheduled event, and its start
/// request id (a random id only the handler saw), so a completion applies only to the operation it was started for.
/// Carried in the start request's callback header to the handler, which attaches it to the workflow it starts.
/// </summary>
internal sealed record NexusCallbackToken(string NamespaceId, string WorkflowId, string RunId, long ScheduledEventId, string RequestId)
{
    /// <summary>The callback URL of a completion this server delivers itself (Temporal's <c>temporal://system</c>).</summary>
    public const string SystemUrl = "temporal://system";

    /// <summary>The callback header that carries the token.</summary>
    public const string Header = "bastion-nexus-callback";

    /// <summary>The callback header in which the SDKs put the handler's operation token (matched ignoring case).</summary>
    public const string OperationTokenHeader = "Nexus-Operation-Token";

    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('\n', NamespaceId, WorkflowId, RunId, ScheduledEventId.ToString(System.Globalization.CultureInfo.InvariantCulture), RequestId)));

    /// <summary>The token, or null when <paramref name="text"/> is not one.</summary>
    public static NexusCallbackToken? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text) || !Base64Url.IsValid(text))
        {
            return null;
        }

        var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text)).Split('\n');
        return parts.Length == 5 && long.TryParse(parts[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var eventId)
            ? new NexusCallbackToken(parts[0], parts[1], parts[2], eventId, parts[4])
            : null;
    }
}
