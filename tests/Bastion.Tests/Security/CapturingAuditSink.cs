using System.Collections.Concurrent;
using Bastion.Security.Audit;

namespace Bastion.Tests.Security;

/// <summary>An audit sink that keeps every record, for tests to inspect.</summary>
internal sealed class CapturingAuditSink : IAuditSink
{
    public ConcurrentQueue<AuditRecord> Records { get; } = new();

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        Records.Enqueue(record);
        return ValueTask.CompletedTask;
    }
}
