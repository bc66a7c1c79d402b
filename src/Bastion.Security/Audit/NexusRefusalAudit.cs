using Bastion.Engine.Nexus;
using Grpc.Core;

namespace Bastion.Security.Audit;

/// <summary>The audit record of a Nexus call an endpoint's allowlist refused (<see cref="AuditKinds.NexusCallRefused"/>).</summary>
public static class NexusRefusalAudit
{
    /// <summary>The operation name the records carry: the Nexus start the caller's workflow asked for.</summary>
    public const string Operation = "temporal.api.nexus/StartOperation";

    public static AuditRecord RecordOf(NexusRefusal refusal, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return new AuditRecord
        {
            LogId = Guid.NewGuid().ToString(),
            Kind = AuditKinds.NexusCallRefused,
            EmitTime = now,
            Operation = Operation,
            PrincipalType = "Namespace",
            PrincipalId = refusal.Caller.Id,
            PrincipalName = refusal.Caller.FullName,
            Account = refusal.Caller.Account,
            Namespace = refusal.Caller.FullName,
            NamespaceId = refusal.Caller.Id,
            Status = (int)StatusCode.PermissionDenied,
            Peer = "workflow",
            Details = new Dictionary<string, string>
            {
                ["endpoint"] = refusal.Endpoint.Name,
                ["endpoint_id"] = refusal.Endpoint.Id,
                ["service"] = refusal.Service,
                ["operation"] = refusal.Operation,
                ["workflow_id"] = refusal.WorkflowId,
                ["run_id"] = refusal.RunId,
                ["reason"] = "caller namespace is not on the endpoint's allowed caller namespaces",
            },
        };
    }
}
