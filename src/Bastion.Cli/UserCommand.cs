using System.CommandLine;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Cli;

/// <summary><c>bastion user list|get|create|update|delete|set-namespace-access</c> over the Cloud Ops API.</summary>
internal static class UserCommand
{
    private static readonly string[] s_headers = ["ID", "EMAIL", "ROLE", "NAMESPACES", "VERSION"];

    public static Command Create()
    {
        var ops = new CloudOpsCommand("user", "Manage users through a server's Cloud Ops API.");
        var id = new Option<string>("--id") { Description = "User id.", Required = true };
        var email = new Option<string>("--email") { Description = "E-mail address.", Required = true };
        var newEmail = new Option<string?>("--email") { Description = "New e-mail address." };
        var role = new Option<string>("--role") { Description = "Account role.", Required = true };
        var newRole = new Option<string?>("--role") { Description = "New account role." };
        role.AcceptOnlyFromAmong(AccessSyntax.Roles);
        newRole.AcceptOnlyFromAmong(AccessSyntax.Roles);
        var access = new Option<string[]>("--namespace-access") { Description = "NAMESPACE=read|write|admin (repeatable; on update, replaces all).", AllowMultipleArgumentsPerToken = false };
        var ns = new Option<string?>("--namespace") { Description = "Only users with access to this namespace." };
        var nsRequired = new Option<string>("--namespace") { Description = "The namespace.", Required = true };
        var permission = new Option<string>("--permission") { Description = "read, write, admin, or none to remove.", Required = true };
        permission.AcceptOnlyFromAmong([.. AccessSyntax.Permissions, "none"]);

        ops.Add("list", "List users.", async (parse, cloud) =>
        {
            var response = await cloud.GetUsersAsync(new GetUsersRequest { Namespace = parse.GetValue(ns) ?? string.Empty, PageSize = 1000 }).ConfigureAwait(false);
            return new CliResult(response, null, s_headers, [.. response.Users.Select(Row)]);
        }, ns);
        ops.Add("get", "Show a user.", async (parse, cloud) =>
        {
            var user = (await cloud.GetUserAsync(new GetUserRequest { UserId = parse.GetValue(id) }).ConfigureAwait(false)).User;
            return new CliResult(user, null, s_headers, [Row(user)]);
        }, id);
        ops.Add("create", "Create a user.", async (parse, cloud) =>
        {
            var spec = new UserSpec { Email = parse.GetValue(email), Access = AccessSyntax.Access(parse.GetValue(role), parse.GetValue(access) ?? []) };
            var response = await cloud.CreateUserAsync(new CreateUserRequest { Spec = spec }).ConfigureAwait(false);
            return new CliResult(response, $"Created user {response.UserId}.");
        }, email, role, access);
        ops.Add("update", "Change a user's e-mail, role or namespace access (what is not given stays).", async (parse, cloud) =>
        {
            var user = (await cloud.GetUserAsync(new GetUserRequest { UserId = parse.GetValue(id) }).ConfigureAwait(false)).User;
            var spec = user.Spec.Clone();
            spec.Email = parse.GetValue(newEmail) ?? spec.Email;
            spec.Access ??= new Access();
            AccessSyntax.Apply(spec.Access, parse.GetValue(newRole), parse.GetValue(access));

            var response = await cloud.UpdateUserAsync(new UpdateUserRequest { UserId = user.Id, Spec = spec, ResourceVersion = user.ResourceVersion }).ConfigureAwait(false);
            return new CliResult(response, $"Updated user {user.Id}.");
        }, id, newEmail, newRole, access);
        ops.Add("delete", "Delete a user and its API keys.", async (parse, cloud) =>
        {
            var user = (await cloud.GetUserAsync(new GetUserRequest { UserId = parse.GetValue(id) }).ConfigureAwait(false)).User;
            var response = await cloud.DeleteUserAsync(new DeleteUserRequest { UserId = user.Id, ResourceVersion = user.ResourceVersion }).ConfigureAwait(false);
            return new CliResult(response, $"Deleted user {user.Id} ({user.Spec.Email}).");
        }, id);
        ops.Add("set-namespace-access", "Grant or (none) remove a user's permission on one namespace.", async (parse, cloud) =>
        {
            var user = (await cloud.GetUserAsync(new GetUserRequest { UserId = parse.GetValue(id) }).ConfigureAwait(false)).User;
            var response = await cloud.SetUserNamespaceAccessAsync(new SetUserNamespaceAccessRequest
            {
                UserId = user.Id,
                Namespace = parse.GetValue(nsRequired),
                Access = AccessSyntax.Permission(parse.GetValue(permission)!, "--permission"),
                ResourceVersion = user.ResourceVersion,
            }).ConfigureAwait(false);
            return new CliResult(response, $"User {user.Id}: {parse.GetValue(permission)} on {parse.GetValue(nsRequired)}.");
        }, id, nsRequired, permission);
        return ops.Command;
    }

    private static string[] Row(User user) =>
        [user.Id, user.Spec.Email, AccessSyntax.RoleName(user.Spec.Access), AccessSyntax.Namespaces(user.Spec.Access), user.ResourceVersion];
}
