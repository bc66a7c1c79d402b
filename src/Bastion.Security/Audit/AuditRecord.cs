namespace Bastion.Security.Audit;

/// <summary>
/// One record per call, with the fields of Temporal Cloud's audit log. Never payloads, secrets or keys:
/// only who, what, where, when and how it ended.
/// </summary>
public sealed record AuditRecord(
    string LogId,
    DateTime EmitTime,
    string Operation,
    string PrincipalType,
    string PrincipalId,
    string PrincipalName,
    string? ApiKeyId,
    string? Namespace,
    int Status,
    string Peer,
    string? RequestId,
    string Version = "1");

/// <summary>Where audit records go. The durable, hash-chained log plugs in here.</summary>
public interface IAuditSink
{
    void Write(AuditRecord record);
}
