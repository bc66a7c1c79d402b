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
/// Service accounts. Account-scoped ones (a role and namespace grants) are an account admin's to manage;
/// namespace-scoped ones (one namespace, one permission) also that namespace's admin's.
/// </summary>
internal sealed partial class CloudServiceHandler
{
    private const int MaxNameLength = 200;

    public Task<GetServiceAccountResponse> GetServiceAccount(GetServiceAccountRequest request, ServerCallContext context) =>
        Task.FromResult(new GetServiceAccountResponse
        {
            ServiceAccount = ToProto(identities.Get<ServiceAccountEntry>(CallerOf(context).Account, request.ServiceAccountId, "Service account")),
        });

    public Task<GetServiceAccountsResponse> GetServiceAccounts(GetServiceAccountsRequest request, ServerCallContext context)
    {
        var (page, next) = Page(identities.All<ServiceAccountEntry>(CallerOf(context).Account), request.PageSize, request.PageToken, a => a.Id);
        var response = new GetServiceAccountsResponse { NextPageToken = next };
        response.ServiceAccount.AddRange(page.Select(ToProto));
        return Task.FromResult(response);
    }

    public async Task<CreateServiceAccountResponse> CreateServiceAccount(CreateServiceAccountRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var spec = ServiceAccountSpecOf(caller, request.Spec);
        var created = await identities.CreateAsync(spec with { Id = Guid.NewGuid().ToString(), Account = caller.Account }).ConfigureAwait(false);
        return new CreateServiceAccountResponse
        {
            ServiceAccountId = created.Id,
            AsyncOperation = await OperationAsync(context, "create-service-account", created.Id, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    public async Task<UpdateServiceAccountResponse> UpdateServiceAccount(UpdateServiceAccountRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var spec = ServiceAccountSpecOf(caller, request.Spec);
        await identities.UpdateAsync<ServiceAccountEntry>(caller.Account, request.ServiceAccountId, "Service account", request.ResourceVersion, current =>
        {
            RequireServiceAccountManager(caller, current);
            return spec with { Id = current.Id, Account = current.Account, CreatedTime = current.CreatedTime };
        }).ConfigureAwait(false);
        return new UpdateServiceAccountResponse
        {
            AsyncOperation = await OperationAsync(context, "update-service-account", request.ServiceAccountId, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    public async Task<DeleteServiceAccountResponse> DeleteServiceAccount(DeleteServiceAccountRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        RequireServiceAccountManager(caller, identities.Get<ServiceAccountEntry>(caller.Account, request.ServiceAccountId, "Service account"));
        await identities.DeleteAsync<ServiceAccountEntry>(caller.Account, request.ServiceAccountId, "Service account", request.ResourceVersion).ConfigureAwait(false);
        return new DeleteServiceAccountResponse
        {
            AsyncOperation = await OperationAsync(context, "delete-service-account", request.ServiceAccountId, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    /// <summary>A namespace grant of an account-scoped service account (a namespace-scoped one keeps its one namespace).</summary>
    public async Task<SetServiceAccountNamespaceAccessResponse> SetServiceAccountNamespaceAccess(SetServiceAccountNamespaceAccessRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var ns = NamespaceNamed(caller, request.Namespace);
        await identities.UpdateAsync<ServiceAccountEntry>(caller.Account, request.ServiceAccountId, "Service account", request.ResourceVersion, current =>
            current.ScopedNamespaceId is null
                ? current with { NamespaceAccess = WithGrant(current.NamespaceAccess, ns.Id, PermissionOf(request.Access)) }
                : throw new ServiceException(ErrorKind.FailedPrecondition, $"Service account {current.Id} is namespace-scoped: update it instead.")).ConfigureAwait(false);
        return new SetServiceAccountNamespaceAccessResponse
        {
            AsyncOperation = await OperationAsync(context, "set-service-account-namespace-access", request.ServiceAccountId, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    /// <summary>The spec as an entry (id and account left for the caller), checking the caller may manage such an account.</summary>
    private ServiceAccountEntry ServiceAccountSpecOf(Principal caller, ServiceAccountSpec? spec)
    {
        if (spec is null || string.IsNullOrWhiteSpace(spec.Name) || spec.Name.Length > MaxNameLength)
        {
            throw ServiceException.InvalidArgument($"spec.name {ServiceException.Quote(spec?.Name, 100)} must be 1 to {MaxNameLength} characters.");
        }

        ServiceAccountEntry entry;
        if (spec.NamespaceScopedAccess is { } scoped)
        {
            if (spec.Access is not null)
            {
                throw ServiceException.InvalidArgument("A service account has access or namespace_scoped_access, not both.");
            }

            var ns = NamespaceNamed(caller, scoped.Namespace);
            entry = new ServiceAccountEntry
            {
                Id = string.Empty,
                Account = caller.Account,
                Name = spec.Name,
                Description = spec.Description,
                ScopedNamespaceId = ns.Id,
                ScopedPermission = PermissionOf(scoped.Access)
                    ?? throw ServiceException.InvalidArgument("namespace_scoped_access.access needs a permission (read, write or admin)."),
            };
        }
        else
        {
            var role = RoleOf(spec.Access?.AccountAccess, "Service account");
            if (role == AccountRole.Owner)
            {
                throw ServiceException.InvalidArgument("A service account cannot be an account owner.");
            }

            entry = new ServiceAccountEntry
            {
                Id = string.Empty,
                Account = caller.Account,
                Name = spec.Name,
                Description = spec.Description,
                Role = role,
                NamespaceAccess = GrantsOf(caller, spec.Access),
            };
        }

        RequireServiceAccountManager(caller, entry);
        return entry;
    }

    /// <summary>Account admins manage every service account; a namespace admin manages the ones scoped to its namespace.</summary>
    private void RequireServiceAccountManager(Principal caller, ServiceAccountEntry account)
    {
        if (caller.Allows(Permission.AccountAdmin, null))
        {
            return;
        }

        if (account.ScopedNamespaceId is { } nsId && namespaces.All.FirstOrDefault(n => n.Id == nsId) is { } ns && caller.Allows(Permission.NamespaceAdmin, ns))
        {
            return;
        }

        throw new ServiceException(
            ErrorKind.PermissionDenied,
            $"{caller.Type} {caller.Name} may not manage this service account: it takes an account admin, or the namespace admin of a namespace-scoped one.");
    }

    private ServiceAccount ToProto(ServiceAccountEntry account)
    {
        var spec = new ServiceAccountSpec { Name = account.Name, Description = account.Description };
        if (account.ScopedNamespaceId is { } nsId)
        {
            spec.NamespaceScopedAccess = new NamespaceScopedAccess
            {
                Namespace = namespaces.All.FirstOrDefault(n => n.Id == nsId)?.FullName ?? string.Empty,
                Access = ToProto(account.ScopedPermission),
            };
        }
        else
        {
            spec.Access = ToProto(account.Role, account.NamespaceAccess);
        }

        return new ServiceAccount
        {
            Id = account.Id,
            ResourceVersion = account.Version.ToString(CultureInfo.InvariantCulture),
            Spec = spec,
            State = ResourceState.Active,
            CreatedTime = Ts(account.CreatedTime),
            LastModifiedTime = Ts(account.LastModifiedTime),
        };
    }
}
