namespace Bastion.Security.Audit;

/// <summary>
/// Where audit records go. A write completes when the record is durable (for the durable log: committed to disk);
/// a write that fails must fail the call it records.
/// </summary>
public interface IAuditSink
{
    ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken = default);
}
