using System.Text;
using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>Writes records as JSON lines to standard output (for a log collector that reads the process's output).</summary>
public sealed class StdoutAuditTarget(TextWriter output) : IAuditExportTarget
{
    public string Name => "stdout";

    public async Task DeliverAsync(IReadOnlyList<StoredAuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder();
        foreach (var record in records)
        {
            text.Append(Encoding.UTF8.GetString(record.Data)).Append('\n');
        }

        await output.WriteAsync(text, cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
