using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Grpc.Core;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;
using Temporalio.Api.Cloud.Resource.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>
/// API keys. The token is in the CreateApiKey response and nowhere else. A caller manages its own keys; an
/// account admin every key; a namespace admin the keys of its namespace's namespace-scoped service accounts.
/// Keys a caller may not manage are NOT_FOUND to it.
/// </summary>
internal sealed partial class CloudServiceHandler
{
    public Task<GetApiKeysResponse> GetApiKeys(GetApiKeysRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var keys = identities.All<ApiKeyEntry>(caller.Account)
            .Where(k => k.OwnerType != PrincipalType.Operator && CanManageKey(caller, k))
            .Where(k => string.IsNullOrEmpty(request.OwnerId) || k.OwnerId == request.OwnerId)
            .Where(k => request.OwnerType == OwnerType.Unspecified || k.OwnerType == PrincipalTypeOf(request.OwnerType));
        var (page, next) = Page(keys, request.PageSize, request.PageToken, k => k.Id);
        var response = new GetApiKeysResponse { NextPageToken = next };
        response.ApiKeys.AddRange(page.Select(ToProto));
        return Task.FromResult(response);
    }

    public Task<GetApiKeyResponse> GetApiKey(GetApiKeyRequest request, ServerCallContext context) =>
        Task.FromResult(new GetApiKeyResponse { ApiKey = ToProto(ManageableKey(CallerOf(context), request.KeyId)) });

    public async Task<CreateApiKeyResponse> CreateApiKey(CreateApiKeyRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var spec = request.Spec ?? throw ServiceException.InvalidArgument("spec is required.");
        var ownerType = spec.OwnerType == OwnerType.Unspecified ? OwnerTypeOf(caller, spec.OwnerId) : PrincipalTypeOf(spec.OwnerType);
        var owner = OwnerOf(caller, ownerType, spec.OwnerId);
        var draft = new ApiKeyEntry
        {
            Id = string.Empty,
            Account = caller.Account,
            OwnerId = owner.Id,
            OwnerType = ownerType,
            DisplayName = Bounded(spec.DisplayName, "display_name"),
            Description = Bounded(spec.Description, "description"),
            ExpiryTime = spec.ExpiryTime?.ToDateTime() ?? throw ServiceException.InvalidArgument("spec.expiry_time is required (at most 2 years ahead)."),
            Disabled = spec.Disabled,
            SecretHash = [],
        };
        if (!CanManageKey(caller, draft))
        {
            throw new ServiceException(ErrorKind.PermissionDenied, $"{caller.Type} {caller.Name} may not create API keys for {owner.Id}.");
        }

        var (key, token) = await identities.CreateApiKeyAsync(draft).ConfigureAwait(false);
        return new CreateApiKeyResponse
        {
            KeyId = key.Id,
            Token = token,
            AsyncOperation = await OperationAsync(context, "create-api-key", key.Id, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    /// <summary>Renames, re-describes, disables or re-enables a key, or moves its expiry (at most 2 years ahead); its owner stays.</summary>
    public async Task<UpdateApiKeyResponse> UpdateApiKey(UpdateApiKeyRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var spec = request.Spec ?? throw ServiceException.InvalidArgument("spec is required.");
        ManageableKey(caller, request.KeyId);
        var expiry = spec.ExpiryTime?.ToDateTime();
        if (expiry is { } requested && (requested <= Now || requested > Now + IdentityRegistry.MaxKeyLifetime))
        {
            throw ServiceException.InvalidArgument("spec.expiry_time must be in the future and at most 2 years ahead.");
        }

        await identities.UpdateAsync<ApiKeyEntry>(caller.Account, request.KeyId, "API key", request.ResourceVersion, current =>
        {
            if (!string.IsNullOrEmpty(spec.OwnerId) && spec.OwnerId != current.OwnerId)
            {
                throw ServiceException.InvalidArgument("An API key's owner cannot change: create a key for the other owner.");
            }

            return current with
            {
                DisplayName = Bounded(spec.DisplayName, "display_name"),
                Description = Bounded(spec.Description, "description"),
                Disabled = spec.Disabled,
                ExpiryTime = expiry ?? current.ExpiryTime,
            };
        }).ConfigureAwait(false);
        return new UpdateApiKeyResponse { AsyncOperation = await OperationAsync(context, "update-api-key", request.KeyId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public async Task<DeleteApiKeyResponse> DeleteApiKey(DeleteApiKeyRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        ManageableKey(caller, request.KeyId);
        await identities.DeleteAsync<ApiKeyEntry>(caller.Account, request.KeyId, "API key", request.ResourceVersion).ConfigureAwait(false);
        return new DeleteApiKeyResponse { AsyncOperation = await OperationAsync(context, "delete-api-key", request.KeyId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    private ApiKeyEntry ManageableKey(Principal caller, string keyId) =>
        identities.Find<ApiKeyEntry>(keyId) is { } key && key.Account == caller.Account && key.OwnerType != PrincipalType.Operator && CanManageKey(caller, key)
            ? key
            : throw ServiceException.NotFound($"API key {ServiceException.Quote(keyId, 100)} is not found.");

    private bool CanManageKey(Principal caller, ApiKeyEntry key)
    {
        if (caller.Allows(Permission.AccountAdmin, null) || key.OwnerId == caller.Id)
        {
            return true;
        }

        return key.OwnerType == PrincipalType.ServiceAccount
            && identities.Find<ServiceAccountEntry>(key.OwnerId) is { ScopedNamespaceId: { } nsId }
            && namespaces.All.FirstOrDefault(n => n.Id == nsId) is { } ns
            && caller.Allows(Permission.NamespaceAdmin, ns);
    }

    private IdentityEntry OwnerOf(Principal caller, PrincipalType type, string ownerId) => type switch
    {
        PrincipalType.User => identities.Get<UserEntry>(caller.Account, ownerId, "User"),
        PrincipalType.ServiceAccount => identities.Get<ServiceAccountEntry>(caller.Account, ownerId, "Service account"),
        _ => throw ServiceException.InvalidArgument("spec.owner_type must be user or service account."),
    };

    private PrincipalType OwnerTypeOf(Principal caller, string ownerId) =>
        identities.Find<UserEntry>(ownerId) is { } user && user.Account == caller.Account ? PrincipalType.User
        : identities.Find<ServiceAccountEntry>(ownerId) is { } sa && sa.Account == caller.Account ? PrincipalType.ServiceAccount
        : throw ServiceException.NotFound($"No user or service account {ServiceException.Quote(ownerId, 100)} owns keys here.");

    private static PrincipalType PrincipalTypeOf(OwnerType type) => type switch
    {
        OwnerType.User => PrincipalType.User,
        OwnerType.ServiceAccount => PrincipalType.ServiceAccount,
        _ => throw ServiceException.InvalidArgument($"Owner type {type} is not user or service account."),
    };

    private static string Bounded(string value, string field) =>
        value.Length <= MaxNameLength ? value : throw ServiceException.InvalidArgument($"spec.{field} is longer than {MaxNameLength} characters.");

    private static ApiKey ToProto(ApiKeyEntry key) => new()
    {
        Id = key.Id,
        ResourceVersion = key.Version.ToString(CultureInfo.InvariantCulture),
        Spec = new ApiKeySpec
        {
            OwnerId = key.OwnerId,
            OwnerType = key.OwnerType == PrincipalType.User ? OwnerType.User : OwnerType.ServiceAccount,
            DisplayName = key.DisplayName,
            Description = key.Description,
            ExpiryTime = Ts(key.ExpiryTime),
            Disabled = key.Disabled,
        },
        State = ResourceState.Active,
        CreatedTime = Ts(key.CreatedTime),
        LastModifiedTime = Ts(key.LastModifiedTime),
    };
}
