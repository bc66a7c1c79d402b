using System.Globalization;
using System.Text;
using Bastion.Engine.Errors;
using Google.Protobuf;

namespace Bastion.Engine.History;

/// <summary>
/// Where the next page of a run's history starts. A token handed out with a workflow task also bounds the pages to
/// that task's history (<see cref="LastEventId"/>) and names the transient task whose scheduled and started events
/// end the last page (they are shown to the worker but not stored).
/// </summary>
internal sealed record HistoryPageToken(string RunId, long NextEventId, long LastEventId = 0, long TransientScheduledEventId = 0, int TransientAttempt = 0)
{
    /// <summary>A page of a workflow task's history: for that task, not the run's history as it grows.</summary>
    public bool IsTaskPage => LastEventId > 0;

    public ByteString Encode() => ByteString.CopyFromUtf8(IsTaskPage
        ? string.Create(CultureInfo.InvariantCulture, $"h2|{RunId}|{NextEventId}|{LastEventId}|{TransientScheduledEventId}|{TransientAttempt}")
        : string.Create(CultureInfo.InvariantCulture, $"h1|{RunId}|{NextEventId}"));

    public static HistoryPageToken Decode(ByteString token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var parts = Encoding.UTF8.GetString(token.Span).Split('|');
        var valid = parts.Length switch
        {
            3 => parts[0] == "h1",
            6 => parts[0] == "h2",
            _ => false,
        };
        var numbers = new long[parts.Length];
        for (var i = 2; valid && i < parts.Length; i++)
        {
            valid = long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]);
        }

        if (!valid || !Guid.TryParse(parts[1], out _) || numbers[2] < 1 || (parts.Length == 6 && numbers[5] > int.MaxValue))
        {
            throw ServiceException.InvalidArgument("NextPageToken is malformed: pass back the token a previous page returned.");
        }

        return parts.Length == 3
            ? new HistoryPageToken(parts[1], numbers[2])
            : new HistoryPageToken(parts[1], numbers[2], numbers[3], numbers[4], (int)numbers[5]);
    }
}
