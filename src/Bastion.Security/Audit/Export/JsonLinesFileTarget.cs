using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// Appends records as JSON lines to a file, flushed to disk before the cursor moves. When the file reaches its size
/// limit it becomes <c>PATH.1</c> (older files shift up, the oldest beyond the limit is deleted) and a new one starts.
/// </summary>
public sealed class JsonLinesFileTarget(string path, long maxBytes, int maxFiles) : IAuditExportTarget
{
    public string Name => "file:" + path;

    public async Task DeliverAsync(IReadOnlyList<StoredAuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (File.Exists(path) && new FileInfo(path).Length >= maxBytes)
        {
            Rotate();
        }

        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        await using (stream.ConfigureAwait(false))
        {
            foreach (var record in records)
            {
                await stream.WriteAsync(record.Data, cancellationToken).ConfigureAwait(false);
                stream.WriteByte((byte)'\n');
            }

            stream.Flush(flushToDisk: true);
        }
    }

    private void Rotate()
    {
        File.Delete($"{path}.{maxFiles}");
        for (var i = maxFiles - 1; i >= 1; i--)
        {
            if (File.Exists($"{path}.{i}"))
            {
                File.Move($"{path}.{i}", $"{path}.{i + 1}");
            }
        }

        File.Move(path, $"{path}.1");
    }
}
