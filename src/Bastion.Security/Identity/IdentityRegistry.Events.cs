using System.Globalization;
using Bastion.Security.Audit;

namespace Bastion.Security.Identity;

/// <summary>
/// The account events: every stored change to a key, grant, user, service account or group is written to the audit
/// log in the same transaction as the change, with the actor of the flow (<see cref="AuditActor"/>) as principal.
/// Details name the target, never a secret (keys are stored as hashes and their tokens are never here).
/// </summary>
public sealed partial class IdentityRegistry
{
    private const int MaxDetailLength = 256;

    /// <summary>The event that storing <paramref name="next"/> over <paramref name="previous"/> is, if it is one.</summary>
    private ChainedAuditRecord? StoredEvent(IdentityEntry? previous, IdentityEntry next) => (previous, next) switch
    {
        (_, AsyncOperationEntry) => null,
        (null, ApiKeyEntry) => Event(AuditKinds.ApiKeyCreated, next),
        (ApiKeyEntry { Disabled: false }, ApiKeyEntry { Disabled: true }) => Event(AuditKinds.ApiKeyDisabled, next),
        (_, ApiKeyEntry) => Event(AuditKinds.ApiKeyUpdated, next),
        (null, _) => Event(AuditKinds.AccessGranted, next),
        (OperatorGrantEntry was, OperatorGrantEntry now) when was.ExpiryTime > Now && now.ExpiryTime <= Now => Event(AuditKinds.AccessRevoked, next),
        _ => Event(AuditKinds.AccessChanged, next),
    };

    private ChainedAuditRecord? RemovedEvent(IdentityEntry entry) => entry switch
    {
        AsyncOperationEntry => null,
        ApiKeyEntry => Event(AuditKinds.ApiKeyDeleted, entry),
        _ => Event(AuditKinds.AccessRevoked, entry),
    };

    private ChainedAuditRecord Event(string kind, IdentityEntry target)
    {
        var actor = AuditActor.Current ?? AuditActor.System;
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["target_type"] = KindOf(target.GetType()),
            ["target_id"] = target.Id,
            ["target_version"] = target.Version.ToString(CultureInfo.InvariantCulture),
        };
        string? namespaceId = null;
        switch (target)
        {
            case ApiKeyEntry key:
                details["owner_type"] = key.OwnerType.ToString();
                details["owner_id"] = key.OwnerId;
                details["expiry_time"] = key.ExpiryTime.ToString("O", CultureInfo.InvariantCulture);
                break;
            case OperatorGrantEntry grant:
                namespaceId = grant.NamespaceId;
                details["operator"] = Clip(grant.Operator);
                details["namespace"] = grant.NamespaceName;
                details["permission"] = grant.Permission.ToString();
                details["reason"] = Clip(grant.Reason);
                details["expiry_time"] = grant.ExpiryTime.ToString("O", CultureInfo.InvariantCulture);
                break;
            case UserEntry user:
                details["role"] = user.Role.ToString();
                details["namespace_access"] = Access(user.NamespaceAccess);
                break;
            case ServiceAccountEntry account:
                details["role"] = account.Role.ToString();
                details["namespace_access"] = Access(account.NamespaceAccess);
                break;
            case UserGroupEntry group:
                details["role"] = group.Role.ToString();
                details["namespace_access"] = Access(group.NamespaceAccess);
                details["members"] = group.Members.Count.ToString(CultureInfo.InvariantCulture);
                if (group.IdpGroup is not null)
                {
                    details["idp_group"] = Clip(group.IdpGroup);
                }

                break;
            case SsoSettingsEntry sso:
                details["oidc_issuer"] = Clip(sso.Oidc?.Issuer ?? string.Empty);
                details["oidc_client_id"] = Clip(sso.Oidc?.ClientId ?? string.Empty);
                details["oidc_enabled"] = (sso.Oidc?.Enabled == true).ToString();
                // Where the client secret comes from, never the secret (a stored one is sealed apart from this record).
                details["oidc_client_secret"] = sso.Oidc is not { } oidc ? string.Empty
                    : oidc.ClientSecretStored ? "stored"
                    : oidc.ClientSecretFile is not null ? "file"
                    : oidc.ClientSecretEnvironment is not null ? "environment" : "none";
                details["saml_sp_entity_id"] = Clip(sso.Saml?.SpEntityId ?? string.Empty);
                details["saml_enabled"] = (sso.Saml?.Enabled == true).ToString();
                details["people_api_key_sign_in"] = sso.PeopleApiKeySignIn.ToString();
                details["jit_users"] = sso.JitUsers.ToString();
                details["require_mfa"] = sso.RequireMfa.ToString();
                break;
        }

        return new ChainedAuditRecord(new AuditRecord
        {
            LogId = Guid.NewGuid().ToString(),
            Kind = kind,
            EmitTime = Now,
            Operation = actor.Operation,
            PrincipalType = actor.PrincipalType,
            PrincipalId = actor.PrincipalId,
            PrincipalName = actor.PrincipalName,
            ApiKeyId = actor.ApiKeyId,
            Account = target.Account,
            NamespaceId = namespaceId,
            Peer = actor.Peer,
            RequestId = actor.RequestId,
            Details = details,
        });
    }

    private static string Clip(string text) => text.Length > MaxDetailLength ? text[..MaxDetailLength] : text;

    private static string Access(IReadOnlyDictionary<string, Authorization.Permission> access) =>
        string.Join(",", access.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));
}
