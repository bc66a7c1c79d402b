using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Grpc.Core;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;
using Temporalio.Api.Cloud.Resource.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>Users: an e-mail, an account role, namespace permissions. Only an owner makes or changes an owner.</summary>
internal sealed partial class CloudServiceHandler
{
    private const int MaxEmailLength = 254;

    public Task<GetCurrentIdentityResponse> GetCurrentIdentity(GetCurrentIdentityRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var response = new GetCurrentIdentityResponse();
        switch (caller.Type)
        {
            case PrincipalType.User:
                response.User = ToProto(identities.Get<UserEntry>(caller.Account, caller.Id, "User"));
                break;
            case PrincipalType.ServiceAccount:
                response.ServiceAccount = ToProto(identities.Get<ServiceAccountEntry>(caller.Account, caller.Id, "Service account"));
                break;
        }

        if (caller.ApiKeyId is { } keyId && identities.Find<ApiKeyEntry>(keyId) is { } key)
        {
            response.PrincipalApiKey = ToProto(key);
        }

        return Task.FromResult(response);
    }

    public Task<GetUsersResponse> GetUsers(GetUsersRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var users = WithAccessTo(caller, request.Namespace, identities.All<UserEntry>(caller.Account), u => u.NamespaceAccess)
            .Where(u => string.IsNullOrEmpty(request.Email) || string.Equals(u.Email, request.Email, StringComparison.OrdinalIgnoreCase));
        var (page, next) = Page(users, request.PageSize, request.PageToken, u => u.Id);
        var response = new GetUsersResponse { NextPageToken = next };
        response.Users.AddRange(page.Select(ToProto));
        return Task.FromResult(response);
    }

    public Task<GetUserResponse> GetUser(GetUserRequest request, ServerCallContext context) =>
        Task.FromResult(new GetUserResponse { User = ToProto(identities.Get<UserEntry>(CallerOf(context).Account, request.UserId, "User")) });

    public async Task<CreateUserResponse> CreateUser(CreateUserRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var (email, role, grants) = UserSpecOf(caller, request.Spec);
        var user = await identities.CreateAsync(
            new UserEntry { Id = Guid.NewGuid().ToString(), Account = caller.Account, Email = email, Role = role, NamespaceAccess = grants },
            _ =>
            {
                if (identities.All<UserEntry>(caller.Account).Any(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase)))
                {
                    throw new ServiceException(ErrorKind.AlreadyExists, $"A user with e-mail {ServiceException.Quote(email, 100)} already exists.");
                }
            }).ConfigureAwait(false);
        return new CreateUserResponse { UserId = user.Id, AsyncOperation = await OperationAsync(context, "create-user", user.Id, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public async Task<UpdateUserResponse> UpdateUser(UpdateUserRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var (email, role, grants) = UserSpecOf(caller, request.Spec);
        await identities.UpdateAsync<UserEntry>(caller.Account, request.UserId, "User", request.ResourceVersion, current =>
        {
            RequireOwnerToChangeOwner(caller, current.Role);
            return current with { Email = email, Role = role, NamespaceAccess = grants };
        }).ConfigureAwait(false);
        return new UpdateUserResponse { AsyncOperation = await OperationAsync(context, "update-user", request.UserId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public async Task<DeleteUserResponse> DeleteUser(DeleteUserRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var current = identities.Get<UserEntry>(caller.Account, request.UserId, "User");
        RequireOwnerToChangeOwner(caller, current.Role);
        if (current.Id == caller.Id)
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, "You cannot delete yourself: ask another admin.");
        }

        await identities.DeleteAsync<UserEntry>(caller.Account, request.UserId, "User", request.ResourceVersion).ConfigureAwait(false);
        return new DeleteUserResponse { AsyncOperation = await OperationAsync(context, "delete-user", request.UserId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    /// <summary>Grants (or, with permission unspecified, removes) a user's permission on the request's namespace.</summary>
    public async Task<SetUserNamespaceAccessResponse> SetUserNamespaceAccess(SetUserNamespaceAccessRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var ns = NamespaceNamed(caller, request.Namespace);
        await identities.UpdateAsync<UserEntry>(caller.Account, request.UserId, "User", request.ResourceVersion, current =>
            current with { NamespaceAccess = WithGrant(current.NamespaceAccess, ns.Id, PermissionOf(request.Access)) }).ConfigureAwait(false);
        return new SetUserNamespaceAccessResponse { AsyncOperation = await OperationAsync(context, "set-user-namespace-access", request.UserId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    private (string Email, AccountRole Role, Dictionary<string, Permission> Grants) UserSpecOf(Principal caller, UserSpec? spec)
    {
        if (spec is null || string.IsNullOrWhiteSpace(spec.Email) || spec.Email.Length > MaxEmailLength || !spec.Email.Contains('@', StringComparison.Ordinal))
        {
            throw ServiceException.InvalidArgument($"spec.email {ServiceException.Quote(spec?.Email, 100)} is not an e-mail address.");
        }

        var role = RoleOf(spec.Access?.AccountAccess, "User");
        RequireOwnerToChangeOwner(caller, role);
        return (spec.Email.Trim(), role, GrantsOf(caller, spec.Access));
    }

    private static void RequireOwnerToChangeOwner(Principal caller, AccountRole role)
    {
        if (role == AccountRole.Owner && !caller.HasRole(r => r == AccountRole.Owner))
        {
            throw new ServiceException(ErrorKind.PermissionDenied, "Only an account owner can grant, change or remove the owner role.");
        }
    }

    private User ToProto(UserEntry user) => new()
    {
        Id = user.Id,
        ResourceVersion = user.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Spec = new UserSpec { Email = user.Email, Access = ToProto(user.Role, user.NamespaceAccess) },
        State = ResourceState.Active,
        CreatedTime = Ts(user.CreatedTime),
        LastModifiedTime = Ts(user.LastModifiedTime),
    };
}
