namespace Bastion.Security.Audit;

/// <summary>
/// What an audit record records. Every API call is <see cref="ApiCall"/>, written by the pipeline. The account events
/// (operator grants, API key creation, disabling and deletion, logins, access changes) are written by the features that
/// perform them, with the actor as principal and the target in <see cref="AuditRecord.Details"/>; those features
/// (API keys, users, roles) are not built yet, so only <see cref="ApiCall"/> is written today.
/// </summary>
public static class AuditKinds
{
    public const string ApiCall = "api_call";

    /// <summary>
    /// A call's record is written with the state change it commits, as succeeded; if the call then fails anyway (its
    /// response could not be built or sent), this second record, naming the first's log id, gives the final status.
    /// </summary>
    public const string ApiCallOutcome = "api_call_outcome";
    public const string AccessGranted = "access_granted";
    public const string AccessRevoked = "access_revoked";
    public const string ApiKeyCreated = "api_key_created";
    public const string ApiKeyDisabled = "api_key_disabled";
    public const string ApiKeyDeleted = "api_key_deleted";
    public const string Login = "login";
}
