using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion apikey list|get|create|delete|disable|enable</c> over the Cloud Ops API. <c>create</c> prints the
/// token once: the server keeps only its hash.
/// </summary>
internal static class ApiKeyCommand
{
    private static readonly string[] s_headers = ["ID", "OWNER", "OWNER TYPE", "NAME", "EXPIRES", "STATE", "VERSION"];

    public static Command Create()
    {
        var ops = new CloudOpsCommand("apikey", "Manage API keys through a server's Cloud Ops API.");
        var id = new Option<string>("--id") { Description = "API key id (the public part of the token).", Required = true };
        var ownerId = new Option<string>("--owner-id") { Description = "The user or service account that owns the key.", Required = true };
        var ownerFilter = new Option<string?>("--owner-id") { Description = "Only keys of this owner." };
        var ownerType = new Option<string?>("--owner-type") { Description = "user or service-account (default: found from the id)." };
        ownerType.AcceptOnlyFromAmong("user", "service-account");
        var duration = new Option<string>("--duration") { Description = "Lifetime, at most 2 years (e.g. 90d).", DefaultValueFactory = _ => "90d" };
        var name = new Option<string>("--display-name") { Description = "A name to recognize it by.", DefaultValueFactory = _ => string.Empty };
        var description = new Option<string>("--description") { Description = "What it is for.", DefaultValueFactory = _ => string.Empty };

        ops.Add("list", "List the API keys you may manage.", async (parse, cloud) =>
        {
            var response = await cloud.GetApiKeysAsync(new GetApiKeysRequest { OwnerId = parse.GetValue(ownerFilter) ?? string.Empty, PageSize = 1000 }).ConfigureAwait(false);
            return new CliResult(response, null, s_headers, [.. response.ApiKeys.Select(Row)]);
        }, ownerFilter);
        ops.Add("get", "Show an API key (never its secret).", async (parse, cloud) =>
        {
            var key = (await cloud.GetApiKeyAsync(new GetApiKeyRequest { KeyId = parse.GetValue(id) }).ConfigureAwait(false)).ApiKey;
            return new CliResult(key, null, s_headers, [Row(key)]);
        }, id);
        ops.Add("create", "Create an API key; prints its token once.", async (parse, cloud) =>
        {
            var spec = new ApiKeySpec
            {
                OwnerId = parse.GetValue(ownerId),
                OwnerType = parse.GetValue(ownerType) switch
                {
                    "user" => OwnerType.User,
                    "service-account" => OwnerType.ServiceAccount,
                    _ => OwnerType.Unspecified,
                },
                DisplayName = parse.GetValue(name),
                Description = parse.GetValue(description),
                ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow + DurationSyntax.Parse(parse.GetValue(duration)!, "--duration")),
            };
            var response = await cloud.CreateApiKeyAsync(new CreateApiKeyRequest { Spec = spec }).ConfigureAwait(false);
            return new CliResult(response, $"Created API key {response.KeyId}. Its token is shown this once and stored nowhere:\n  {response.Token}");
        }, ownerId, ownerType, duration, name, description);
        ops.Add("delete", "Delete an API key: it stops working on its next use.", async (parse, cloud) =>
        {
            var key = (await cloud.GetApiKeyAsync(new GetApiKeyRequest { KeyId = parse.GetValue(id) }).ConfigureAwait(false)).ApiKey;
            var response = await cloud.DeleteApiKeyAsync(new DeleteApiKeyRequest { KeyId = key.Id, ResourceVersion = key.ResourceVersion }).ConfigureAwait(false);
            return new CliResult(response, $"Deleted API key {key.Id}.");
        }, id);
        ops.Add("disable", "Disable an API key: it is refused from its next use until enabled.", (parse, cloud) => SetDisabledAsync(cloud, parse.GetValue(id)!, true), id);
        ops.Add("enable", "Enable a disabled API key.", (parse, cloud) => SetDisabledAsync(cloud, parse.GetValue(id)!, false), id);
        return ops.Command;
    }

    private static async Task<CliResult> SetDisabledAsync(Temporalio.Client.CloudService cloud, string id, bool disabled)
    {
        var key = (await cloud.GetApiKeyAsync(new GetApiKeyRequest { KeyId = id }).ConfigureAwait(false)).ApiKey;
        var spec = key.Spec.Clone();
        spec.Disabled = disabled;
        var response = await cloud.UpdateApiKeyAsync(new UpdateApiKeyRequest { KeyId = key.Id, Spec = spec, ResourceVersion = key.ResourceVersion }).ConfigureAwait(false);
        return new CliResult(response, $"{(disabled ? "Disabled" : "Enabled")} API key {key.Id}.");
    }

    private static string[] Row(ApiKey key) =>
    [
        key.Id,
        key.Spec.OwnerId,
        key.Spec.OwnerType == OwnerType.User ? "user" : "service-account",
        key.Spec.DisplayName,
        AccessSyntax.Time(key.Spec.ExpiryTime),
        key.Spec.Disabled ? "disabled" : "enabled",
        key.ResourceVersion,
    ];
}
