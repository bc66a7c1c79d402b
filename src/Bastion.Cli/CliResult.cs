using Google.Protobuf;

namespace Bastion.Cli;

/// <summary>
/// What a Cloud Ops subcommand prints: the response <see cref="Message"/> (for <c>--output json</c>) and, for
/// people, a note and a table of its rows.
/// </summary>
internal sealed record CliResult(IMessage Message, string? Note = null, IReadOnlyList<string>? Headers = null, IReadOnlyList<IReadOnlyList<string>>? Rows = null)
{
    public void PrintTable(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Note is not null)
        {
            output.WriteLine(Note);
        }

        if (Headers is null)
        {
            return;
        }

        var rows = Rows ?? [];
        var widths = Headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToList();
        output.WriteLine(Line(Headers, widths));
        foreach (var row in rows)
        {
            output.WriteLine(Line(row, widths));
        }
    }

    private static string Line(IReadOnlyList<string> cells, List<int> widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
