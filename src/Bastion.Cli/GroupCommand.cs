using System.CommandLine;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion group list|get|create|update|delete|members|add-member|remove-member|set-namespace-access</c> over the
/// Cloud Ops API: user groups, whose role and namespace access their members get.
/// </summary>
internal static class GroupCommand
{
    private static readonly string[] s_headers = ["ID", "NAME", "ROLE", "NAMESPACES", "VERSION"];

    public static Command Create()
    {
        var ops = new CloudOpsCommand("group", "Manage user groups through a server's Cloud Ops API.");
        var id = new Option<string>("--id") { Description = "Group id.", Required = true };
        var name = new Option<string>("--name") { Description = "Display name.", Required = true };
        var newName = new Option<string?>("--name") { Description = "New display name." };
        var role = new Option<string?>("--role") { Description = "Account role its members get (default: none)." };
        var idpGroup = new Option<string?>("--idp-group") { Description = "Mirror this identity-provider group (its name in the SSO groups claim): members come from single sign-on." };
        role.AcceptOnlyFromAmong(AccessSyntax.Roles);
        var access = new Option<string[]>("--namespace-access") { Description = "NAMESPACE=read|write|admin (repeatable; on update, replaces all).", AllowMultipleArgumentsPerToken = false };
        var userId = new Option<string>("--user-id") { Description = "The member's user id.", Required = true };
        var ns = new Option<string>("--namespace") { Description = "The namespace.", Required = true };
        var permission = new Option<string>("--permission") { Description = "read, write, admin, or none to remove.", Required = true };
        permission.AcceptOnlyFromAmong([.. AccessSyntax.Permissions, "none"]);

        ops.Add("list", "List user groups.", async (_, cloud) =>
        {
            var response = await cloud.GetUserGroupsAsync(new GetUserGroupsRequest { PageSize = 1000 }).ConfigureAwait(false);
            return new CliResult(response, null, s_headers, [.. response.Groups.Select(Row)]);
        });
        ops.Add("get", "Show a user group.", async (parse, cloud) =>
        {
            var group = await GetAsync(cloud, parse.GetValue(id)!).ConfigureAwait(false);
            return new CliResult(group, null, s_headers, [Row(group)]);
        }, id);
        ops.Add("create", "Create a user group.", async (parse, cloud) =>
        {
            var spec = new UserGroupSpec { DisplayName = parse.GetValue(name), Access = AccessSyntax.Access(parse.GetValue(role), parse.GetValue(access) ?? []) };
            if (parse.GetValue(idpGroup) is { } idp)
            {
                spec.ScimGroup = new SCIMGroupSpec { IdpId = idp };
            }
            else
            {
                spec.CloudGroup = new CloudGroupSpec();
            }

            var response = await cloud.CreateUserGroupAsync(new CreateUserGroupRequest { Spec = spec }).ConfigureAwait(false);
            return new CliResult(response, $"Created user group {response.GroupId}.");
        }, name, role, access, idpGroup);
        ops.Add("update", "Change a group's name, role or namespace access (what is not given stays).", async (parse, cloud) =>
        {
            var group = await GetAsync(cloud, parse.GetValue(id)!).ConfigureAwait(false);
            var spec = group.Spec.Clone();
            spec.DisplayName = parse.GetValue(newName) ?? spec.DisplayName;
            spec.Access ??= new Access();
            AccessSyntax.Apply(spec.Access, parse.GetValue(role), parse.GetValue(access));

            var response = await cloud.UpdateUserGroupAsync(new UpdateUserGroupRequest { GroupId = group.Id, Spec = spec, ResourceVersion = group.ResourceVersion }).ConfigureAwait(false);
            return new CliResult(response, $"Updated user group {group.Id}.");
        }, id, newName, role, access);
        ops.Add("delete", "Delete a user group (its members lose what it gave them).", async (parse, cloud) =>
        {
            var group = await GetAsync(cloud, parse.GetValue(id)!).ConfigureAwait(false);
            var response = await cloud.DeleteUserGroupAsync(new DeleteUserGroupRequest { GroupId = group.Id, ResourceVersion = group.ResourceVersion }).ConfigureAwait(false);
            return new CliResult(response, $"Deleted user group {group.Id} ({group.Spec.DisplayName}).");
        }, id);
        ops.Add("members", "List a group's members.", async (parse, cloud) =>
        {
            var response = await cloud.GetUserGroupMembersAsync(new GetUserGroupMembersRequest { GroupId = parse.GetValue(id), PageSize = 1000 }).ConfigureAwait(false);
            return new CliResult(response, null, ["USER ID", "ADDED"], [.. response.Members.Select(m => new[] { m.MemberId.UserId, AccessSyntax.Time(m.CreatedTime) })]);
        }, id);
        ops.Add("add-member", "Add a user to a group.", async (parse, cloud) =>
        {
            var response = await cloud.AddUserGroupMemberAsync(new AddUserGroupMemberRequest { GroupId = parse.GetValue(id), MemberId = new UserGroupMemberId { UserId = parse.GetValue(userId) } }).ConfigureAwait(false);
            return new CliResult(response, $"Added user {parse.GetValue(userId)} to group {parse.GetValue(id)}.");
        }, id, userId);
        ops.Add("remove-member", "Remove a user from a group.", async (parse, cloud) =>
        {
            var response = await cloud.RemoveUserGroupMemberAsync(new RemoveUserGroupMemberRequest { GroupId = parse.GetValue(id), MemberId = new UserGroupMemberId { UserId = parse.GetValue(userId) } }).ConfigureAwait(false);
            return new CliResult(response, $"Removed user {parse.GetValue(userId)} from group {parse.GetValue(id)}.");
        }, id, userId);
        ops.Add("set-namespace-access", "Grant or (none) remove a group's permission on one namespace.", async (parse, cloud) =>
        {
            var group = await GetAsync(cloud, parse.GetValue(id)!).ConfigureAwait(false);
            var response = await cloud.SetUserGroupNamespaceAccessAsync(new SetUserGroupNamespaceAccessRequest
            {
                GroupId = group.Id,
                Namespace = parse.GetValue(ns),
                Access = AccessSyntax.Permission(parse.GetValue(permission)!, "--permission"),
                ResourceVersion = group.ResourceVersion,
            }).ConfigureAwait(false);
            return new CliResult(response, $"Group {group.Id}: {parse.GetValue(permission)} on {parse.GetValue(ns)}.");
        }, id, ns, permission);
        return ops.Command;
    }

    private static async Task<UserGroup> GetAsync(Temporalio.Client.CloudService cloud, string id) =>
        (await cloud.GetUserGroupAsync(new GetUserGroupRequest { GroupId = id }).ConfigureAwait(false)).Group;

    private static string[] Row(UserGroup group) =>
        [group.Id, group.Spec.DisplayName, AccessSyntax.RoleName(group.Spec.Access), AccessSyntax.Namespaces(group.Spec.Access), group.ResourceVersion];
}
