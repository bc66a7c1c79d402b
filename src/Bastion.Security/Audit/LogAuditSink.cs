using Microsoft.Extensions.Logging;

namespace Bastion.Security.Audit;

/// <summary>
/// Emits audit records to the log category <c>Bastion.Audit</c> at Debug level, and keeps nothing. Used only when the
/// durable audit log is switched off (<c>--audit-log off</c>, for measurements); never the default.
/// </summary>
public sealed partial class LogAuditSink(ILoggerFactory loggers) : IAuditSink
{
    private readonly ILogger _logger = loggers.CreateLogger("Bastion.Audit");

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        LogRecord(_logger, record.Operation, record.PrincipalType, record.PrincipalId, record.Namespace, record.Status, record.Peer);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "audit {Operation} by {PrincipalType}:{PrincipalId} ns={Namespace} status={Status} peer={Peer}")]
    private static partial void LogRecord(ILogger logger, string operation, string principalType, string principalId, string? @namespace, int status, string peer);
}
