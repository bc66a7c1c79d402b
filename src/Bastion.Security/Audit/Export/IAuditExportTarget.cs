using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>A destination of exported audit records. A delivery that throws is retried with the same records.</summary>
public interface IAuditExportTarget
{
    /// <summary>The sink's stable name: its cursor's key. Holds no secret (no URL credentials or query).</summary>
    string Name { get; }

    Task DeliverAsync(IReadOnlyList<StoredAuditRecord> records, CancellationToken cancellationToken);
}
