using System.CommandLine;
using Bastion.Engine.Errors;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Cli;

/// <summary><c>bastion service-account list|get|create|delete</c> over the Cloud Ops API.</summary>
internal static class ServiceAccountCommand
{
    private static readonly string[] s_headers = ["ID", "NAME", "ROLE", "NAMESPACES", "VERSION"];

    public static Command Create()
    {
        var ops = new CloudOpsCommand("service-account", "Manage service accounts through a server's Cloud Ops API.");
        var id = new Option<string>("--id") { Description = "Service account id.", Required = true };
        var name = new Option<string>("--name") { Description = "Its name.", Required = true };
        var description = new Option<string>("--description") { Description = "What it is for.", DefaultValueFactory = _ => string.Empty };
        var role = new Option<string?>("--role") { Description = "Account role of an account-scoped service account." };
        role.AcceptOnlyFromAmong(AccessSyntax.Roles);
        var access = new Option<string[]>("--namespace-access") { Description = "NAMESPACE=read|write|admin (repeatable; account-scoped).", AllowMultipleArgumentsPerToken = false };
        var scoped = new Option<string?>("--namespace") { Description = "Make it namespace-scoped: this namespace only (with --permission)." };
        var permission = new Option<string>("--permission") { Description = "Its permission in --namespace.", DefaultValueFactory = _ => "write" };
        permission.AcceptOnlyFromAmong(AccessSyntax.Permissions);

        ops.Add("list", "List service accounts.", async (_, cloud) =>
        {
            var response = await cloud.GetServiceAccountsAsync(new GetServiceAccountsRequest { PageSize = 1000 }).ConfigureAwait(false);
            return new CliResult(response, null, s_headers, [.. response.ServiceAccount.Select(Row)]);
        });
        ops.Add("get", "Show a service account.", async (parse, cloud) =>
        {
            var account = (await cloud.GetServiceAccountAsync(new GetServiceAccountRequest { ServiceAccountId = parse.GetValue(id) }).ConfigureAwait(false)).ServiceAccount;
            return new CliResult(account, null, s_headers, [Row(account)]);
        }, id);
        ops.Add("create", "Create an account-scoped (--role) or namespace-scoped (--namespace) service account.", async (parse, cloud) =>
        {
            var spec = new ServiceAccountSpec { Name = parse.GetValue(name), Description = parse.GetValue(description) };
            if (parse.GetValue(scoped) is { } ns)
            {
                spec.NamespaceScopedAccess = new NamespaceScopedAccess { Namespace = ns, Access = AccessSyntax.Permission(parse.GetValue(permission)!, "--permission") };
            }
            else
            {
                spec.Access = AccessSyntax.Access(
                    parse.GetValue(role) ?? throw ServiceException.InvalidArgument("Give --role (account-scoped) or --namespace (namespace-scoped)."),
                    parse.GetValue(access) ?? []);
            }

            var response = await cloud.CreateServiceAccountAsync(new CreateServiceAccountRequest { Spec = spec }).ConfigureAwait(false);
            return new CliResult(response, $"Created service account {response.ServiceAccountId}.");
        }, name, description, role, access, scoped, permission);
        ops.Add("delete", "Delete a service account and its API keys.", async (parse, cloud) =>
        {
            var account = (await cloud.GetServiceAccountAsync(new GetServiceAccountRequest { ServiceAccountId = parse.GetValue(id) }).ConfigureAwait(false)).ServiceAccount;
            var response = await cloud.DeleteServiceAccountAsync(new DeleteServiceAccountRequest { ServiceAccountId = account.Id, ResourceVersion = account.ResourceVersion }).ConfigureAwait(false);
            return new CliResult(response, $"Deleted service account {account.Id} ({account.Spec.Name}).");
        }, id);
        return ops.Command;
    }

    private static string[] Row(ServiceAccount account) => account.Spec.NamespaceScopedAccess is { } scoped
        ? [account.Id, account.Spec.Name, "-", $"{scoped.Namespace}={scoped.Access.Permission.ToString().ToLowerInvariant()} (scoped)", account.ResourceVersion]
        : [account.Id, account.Spec.Name, AccessSyntax.RoleName(account.Spec.Access), AccessSyntax.Namespaces(account.Spec.Access), account.ResourceVersion];
}
