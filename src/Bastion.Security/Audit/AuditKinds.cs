namespace Bastion.Security.Audit;

/// <summary>
/// What an audit record records. Every API call is <see cref="ApiCall"/>, written by the pipeline. The account events
/// (operator grants, API key creation, change, disabling and deletion, access changes to users, service accounts and
/// groups) are written by the identity layer in the same transaction as the change, with the actor
/// (<see cref="AuditActor"/>) as principal and the target in <see cref="AuditRecord.Details"/>. The web UI's sign-in and
/// sign-out are recorded too (the UI's calls in between are API calls, <c>"via": "ui"</c>); API and gRPC callers
/// present their key or certificate on every call and have no sign-in.
/// </summary>
public static class AuditKinds
{
    public const string ApiCall = "api_call";

    /// <summary>
    /// A call's record is written with the state change it commits, as succeeded; if the call then fails anyway (its
    /// response could not be built or sent), this second record, naming the first's log id, gives the final status.
    /// </summary>
    public const string ApiCallOutcome = "api_call_outcome";

    /// <summary>A user, service account, group or operator grant was created (it gives access).</summary>
    public const string AccessGranted = "access_granted";

    /// <summary>Its access changed (role, namespace permissions, membership).</summary>
    public const string AccessChanged = "access_changed";

    /// <summary>It was deleted, or an operator grant was ended.</summary>
    public const string AccessRevoked = "access_revoked";

    /// <summary>
    /// Someone signed in to the web UI (status OK), or was refused (the status says why, details' <c>refusal</c> and
    /// <c>reason</c> too); details' <c>method</c> says how: <c>api-key</c> or <c>oidc</c>.
    /// </summary>
    public const string UiSignIn = "ui_sign_in";

    /// <summary>A web UI session was ended by its user.</summary>
    public const string UiSignOut = "ui_sign_out";

    /// <summary>A web UI session ended otherwise: timed out, or what it was signed in with is gone (details' <c>reason</c>).</summary>
    public const string UiSessionEnded = "ui_session_ended";

    /// <summary>
    /// A workflow's Nexus call was refused because its namespace is not on the endpoint's allowed caller namespaces
    /// (issue 19): the caller namespace is the principal, the endpoint, its target and the operation are in the details.
    /// </summary>
    public const string NexusCallRefused = "nexus_call_refused";

    public const string ApiKeyCreated = "api_key_created";
    public const string ApiKeyUpdated = "api_key_updated";
    public const string ApiKeyDisabled = "api_key_disabled";
    public const string ApiKeyDeleted = "api_key_deleted";
}
