namespace Bastion.Security.Audit;

/// <summary>
/// One audit record, with the fields of Temporal Cloud's audit log. Never payloads, secrets or keys: only who, what,
/// where, when and how it ended. <see cref="Kind"/> says what happened (an API call, or an account event such as a
/// key or grant change, see <see cref="AuditKinds"/>); <see cref="Details"/> holds the non-payload request fields.
/// </summary>
public sealed record AuditRecord
{
    public required string LogId { get; init; }

    public required DateTime EmitTime { get; init; }

    public string Kind { get; init; } = AuditKinds.ApiCall;

    /// <summary>The full method name, e.g. <c>temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>The actor: the principal's type (<c>Anonymous</c> when none was established).</summary>
    public required string PrincipalType { get; init; }

    public string PrincipalId { get; init; } = string.Empty;

    public string PrincipalName { get; init; } = string.Empty;

    /// <summary>The id (never the secret) of the API key the caller presented.</summary>
    public string? ApiKeyId { get; init; }

    /// <summary>The account the record belongs to; the durable log fills in the server's account when null.</summary>
    public string? Account { get; init; }

    /// <summary>The namespace, <c>name.account</c> when resolved, else as the caller named it.</summary>
    public string? Namespace { get; init; }

    /// <summary>The id of the resolved namespace (what namespace-scoped readers filter on).</summary>
    public string? NamespaceId { get; init; }

    /// <summary>The gRPC status code of the outcome.</summary>
    public int Status { get; init; }

    public string Peer { get; init; } = string.Empty;

    public string? XForwardedFor { get; init; }

    public string? RequestId { get; init; }

    /// <summary>How the call came when not directly: <c>ui</c> for a call the web UI made for its user; null otherwise.</summary>
    public string? Via { get; init; }

    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();

    public string Version { get; init; } = "1";
}
