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
/// User groups: Bastion's own ("cloud") groups, whose members are added and removed here, and groups that mirror an
/// identity provider's group (<c>scim_group.idp_id</c>: the group's name in the SSO groups claim), whose members are
/// whoever last signed in by single sign-on with that group (there is no Google directory). A group's role and
/// namespace permissions add to each member's on the member's next call.
/// </summary>
internal sealed partial class CloudServiceHandler
{
    public Task<GetUserGroupsResponse> GetUserGroups(GetUserGroupsRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        if (request.GoogleGroup is not null)
        {
            throw ServiceException.InvalidArgument("Bastion has no Google groups: filter by display_name, namespace or scim_group.idp_id.");
        }

        var groups = WithAccessTo(caller, request.Namespace, identities.All<UserGroupEntry>(caller.Account), g => g.NamespaceAccess)
            .Where(g => string.IsNullOrEmpty(request.DisplayName) || string.Equals(g.DisplayName, request.DisplayName, StringComparison.OrdinalIgnoreCase))
            .Where(g => request.ScimGroup is not { IdpId.Length: > 0 } scim || string.Equals(g.IdpGroup, scim.IdpId, StringComparison.Ordinal));
        var (page, next) = Page(groups, request.PageSize, request.PageToken, g => g.Id);
        var response = new GetUserGroupsResponse { NextPageToken = next };
        response.Groups.AddRange(page.Select(ToProto));
        return Task.FromResult(response);
    }

    public Task<GetUserGroupResponse> GetUserGroup(GetUserGroupRequest request, ServerCallContext context) =>
        Task.FromResult(new GetUserGroupResponse { Group = ToProto(identities.Get<UserGroupEntry>(CallerOf(context).Account, request.GroupId, "User group")) });

    public async Task<CreateUserGroupResponse> CreateUserGroup(CreateUserGroupRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var (name, role, grants, idpGroup) = GroupSpecOf(caller, request.Spec);
        var group = await identities.CreateAsync(
            new UserGroupEntry { Id = Guid.NewGuid().ToString(), Account = caller.Account, DisplayName = name, Role = role, NamespaceAccess = grants, IdpGroup = idpGroup },
            _ => RequireUniqueGroupName(caller.Account, name, null)).ConfigureAwait(false);
        return new CreateUserGroupResponse { GroupId = group.Id, AsyncOperation = await OperationAsync(context, "create-user-group", group.Id, request.AsyncOperationId).ConfigureAwait(false) };
    }

    /// <summary>Replaces the group's name, role, namespace permissions and mirrored identity-provider group; its members stay (until their next sign-in, for a mirror).</summary>
    public async Task<UpdateUserGroupResponse> UpdateUserGroup(UpdateUserGroupRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var (name, role, grants, idpGroup) = GroupSpecOf(caller, request.Spec);
        await identities.UpdateAsync<UserGroupEntry>(caller.Account, request.GroupId, "User group", request.ResourceVersion, current =>
        {
            RequireOwnerToChangeOwner(caller, current.Role);
            RequireUniqueGroupName(caller.Account, name, current.Id);
            return current with { DisplayName = name, Role = role, NamespaceAccess = grants, IdpGroup = idpGroup };
        }).ConfigureAwait(false);
        return new UpdateUserGroupResponse { AsyncOperation = await OperationAsync(context, "update-user-group", request.GroupId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public async Task<DeleteUserGroupResponse> DeleteUserGroup(DeleteUserGroupRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        RequireOwnerToChangeOwner(caller, identities.Get<UserGroupEntry>(caller.Account, request.GroupId, "User group").Role);
        await identities.DeleteAsync<UserGroupEntry>(caller.Account, request.GroupId, "User group", request.ResourceVersion).ConfigureAwait(false);
        return new DeleteUserGroupResponse { AsyncOperation = await OperationAsync(context, "delete-user-group", request.GroupId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    /// <summary>Grants (or, with permission unspecified, removes) the group's permission on the request's namespace.</summary>
    public async Task<SetUserGroupNamespaceAccessResponse> SetUserGroupNamespaceAccess(SetUserGroupNamespaceAccessRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var ns = NamespaceNamed(caller, request.Namespace);
        await identities.UpdateAsync<UserGroupEntry>(caller.Account, request.GroupId, "User group", request.ResourceVersion, current =>
            current with { NamespaceAccess = WithGrant(current.NamespaceAccess, ns.Id, PermissionOf(request.Access)) }).ConfigureAwait(false);
        return new SetUserGroupNamespaceAccessResponse
        {
            AsyncOperation = await OperationAsync(context, "set-user-group-namespace-access", request.GroupId, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    /// <summary>Adds a user of the account to the group; adding a member again changes nothing.</summary>
    public async Task<AddUserGroupMemberResponse> AddUserGroupMember(AddUserGroupMemberRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var user = identities.Get<UserEntry>(caller.Account, MemberIdOf(request.MemberId), "User");
        await identities.UpdateAsync<UserGroupEntry>(caller.Account, request.GroupId, "User group", null, current =>
        {
            RequireOwnerToChangeOwner(caller, current.Role);
            RequireOwnGroup(current);
            return current.Members.ContainsKey(user.Id)
                ? current
                : current with { Members = new Dictionary<string, DateTime>(current.Members, StringComparer.Ordinal) { [user.Id] = Now } };
        }).ConfigureAwait(false);
        return new AddUserGroupMemberResponse { AsyncOperation = await OperationAsync(context, "add-user-group-member", request.GroupId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public async Task<RemoveUserGroupMemberResponse> RemoveUserGroupMember(RemoveUserGroupMemberRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var memberId = MemberIdOf(request.MemberId);
        await identities.UpdateAsync<UserGroupEntry>(caller.Account, request.GroupId, "User group", null, current =>
        {
            RequireOwnerToChangeOwner(caller, current.Role);
            RequireOwnGroup(current);
            return current.Members.ContainsKey(memberId)
                ? current with { Members = current.Members.Where(m => m.Key != memberId).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal) }
                : throw ServiceException.NotFound($"User {ServiceException.Quote(memberId, 100)} is not a member of group {current.Id}.");
        }).ConfigureAwait(false);
        return new RemoveUserGroupMemberResponse { AsyncOperation = await OperationAsync(context, "remove-user-group-member", request.GroupId, request.AsyncOperationId).ConfigureAwait(false) };
    }

    public Task<GetUserGroupMembersResponse> GetUserGroupMembers(GetUserGroupMembersRequest request, ServerCallContext context)
    {
        var group = identities.Get<UserGroupEntry>(CallerOf(context).Account, request.GroupId, "User group");
        var (page, next) = Page(group.Members, request.PageSize, request.PageToken, m => m.Key);
        var response = new GetUserGroupMembersResponse { NextPageToken = next };
        response.Members.AddRange(page.Select(m => new UserGroupMember { MemberId = new UserGroupMemberId { UserId = m.Key }, CreatedTime = Ts(m.Value) }));
        return Task.FromResult(response);
    }

    private static string MemberIdOf(UserGroupMemberId? member) =>
        member is { HasUserId: true, UserId.Length: > 0 } ? member.UserId : throw ServiceException.InvalidArgument("member_id.user_id is required.");

    /// <summary>A mirror of an identity provider's group takes its members from single sign-on, not from here.</summary>
    private static void RequireOwnGroup(UserGroupEntry group)
    {
        if (group.IdpGroup is not null)
        {
            throw new ServiceException(
                ErrorKind.FailedPrecondition,
                $"User group {group.Id} mirrors the identity provider's group {ServiceException.Quote(group.IdpGroup, 100)}: its members come from single sign-on.");
        }
    }

    private void RequireUniqueGroupName(string account, string name, string? exceptId)
    {
        if (identities.All<UserGroupEntry>(account).Any(g => g.Id != exceptId && string.Equals(g.DisplayName, name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ServiceException(ErrorKind.AlreadyExists, $"A user group named {ServiceException.Quote(name, 100)} already exists.");
        }
    }

    /// <summary>A group's name, role (none when the spec gives no account access), namespace permissions and mirrored identity-provider group.</summary>
    private (string Name, AccountRole Role, Dictionary<string, Permission> Grants, string? IdpGroup) GroupSpecOf(Principal caller, UserGroupSpec? spec)
    {
        if (spec is null || string.IsNullOrWhiteSpace(spec.DisplayName) || spec.DisplayName.Length > MaxNameLength)
        {
            throw ServiceException.InvalidArgument($"spec.display_name {ServiceException.Quote(spec?.DisplayName, 100)} must be 1 to {MaxNameLength} characters.");
        }

        if (spec.GroupTypeCase is UserGroupSpec.GroupTypeOneofCase.GoogleGroup)
        {
            throw ServiceException.InvalidArgument("spec.google_group: Bastion has no Google directory; create a cloud group, or a scim_group naming the identity provider's group.");
        }

        string? idpGroup = null;
        if (spec.GroupTypeCase is UserGroupSpec.GroupTypeOneofCase.ScimGroup)
        {
            idpGroup = spec.ScimGroup.IdpId?.Trim() is { Length: > 0 and <= MaxNameLength } id
                ? id
                : throw ServiceException.InvalidArgument($"spec.scim_group.idp_id must be the identity provider's group, 1 to {MaxNameLength} characters.");
        }

        var role = spec.Access?.AccountAccess is null or { Role: AccountAccess.Types.Role.Unspecified } ? AccountRole.None : RoleOf(spec.Access.AccountAccess, "User group");
        RequireOwnerToChangeOwner(caller, role);
        return (spec.DisplayName.Trim(), role, GrantsOf(caller, spec.Access), idpGroup);
    }

    private UserGroup ToProto(UserGroupEntry group) => new()
    {
        Id = group.Id,
        ResourceVersion = group.Version.ToString(CultureInfo.InvariantCulture),
        Spec = group.IdpGroup is { } idp
            ? new UserGroupSpec { DisplayName = group.DisplayName, Access = ToProto(group.Role, group.NamespaceAccess), ScimGroup = new SCIMGroupSpec { IdpId = idp } }
            : new UserGroupSpec { DisplayName = group.DisplayName, Access = ToProto(group.Role, group.NamespaceAccess), CloudGroup = new CloudGroupSpec() },
        State = ResourceState.Active,
        CreatedTime = Ts(group.CreatedTime),
        LastModifiedTime = Ts(group.LastModifiedTime),
    };
}
