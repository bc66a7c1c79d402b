using Bastion.Api.Cloud.V1;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Bastion.Security.Sso;
using Grpc.Core;

namespace Bastion.Frontend.CloudService;

/// <summary>
/// Bastion's extension of the Cloud Ops API (<c>bastion.cloud.v1.SsoService</c>): the caller's account's single
/// sign-on, on the same listener and through the same security pipeline (every method needs the account admin role,
/// which owners have too — an identity provider vouches for the whole account's people). Each change is stored as the
/// account's settings record, with its account event in the audit log (<see cref="IdentityRegistry"/>); a running
/// server's sign-in pages follow at once, and turning a provider off ends its sessions at their next call. A client
/// secret given here is sealed in the database (<see cref="OidcClientSecret"/>) and never returned.
/// </summary>
internal sealed class SsoServiceHandler(IdentityRegistry identities, OidcClientSecret secrets)
{
    private static string AccountOf(ServerCallContext context) => CallContext.Of(context).Principal!.Account;

    public Task<SsoSettingsResponse> GetSsoSettings(GetSsoSettingsRequest request, ServerCallContext context) =>
        Task.FromResult(Response(identities.SsoSettingsOf(AccountOf(context))));

    public async Task<SsoSettingsResponse> UpdateSsoRules(UpdateSsoRulesRequest request, ServerCallContext context)
    {
        var account = AccountOf(context);
        return Response(await identities.SetSsoSettingsAsync(account, current => SsoSettingsMessages.WithRules(current ?? SsoSettingsMessages.Empty(account), request)).ConfigureAwait(false));
    }

    public async Task<SsoSettingsResponse> SetOidcProvider(SetOidcProviderRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var account = AccountOf(context);
        var oidc = SsoSettingsMessages.Oidc(request);
        if (oidc.ClientSecretStored)
        {
            await secrets.StoreAsync(account, request.ClientSecret).ConfigureAwait(false); // before the settings that say it is there
        }

        var settings = await identities.SetSsoSettingsAsync(account, current => (current ?? SsoSettingsMessages.Empty(account)) with { Oidc = oidc }).ConfigureAwait(false);
        if (!oidc.ClientSecretStored)
        {
            await secrets.ForgetAsync(account).ConfigureAwait(false); // a secret given before is no longer used
        }

        return Response(settings);
    }

    public async Task<SsoSettingsResponse> SetSamlProvider(SetSamlProviderRequest request, ServerCallContext context)
    {
        var account = AccountOf(context);
        var saml = SsoSettingsMessages.Saml(request);
        return Response(await identities.SetSsoSettingsAsync(account, current => (current ?? SsoSettingsMessages.Empty(account)) with { Saml = saml }).ConfigureAwait(false));
    }

    public async Task<SsoSettingsResponse> DisableSsoProvider(DisableSsoProviderRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var account = AccountOf(context);
        SsoSettingsMessages.Disabled(identities.SsoSettingsOf(account), account, request.Protocol); // refuses before any write
        return Response(await identities.SetSsoSettingsAsync(account, current => SsoSettingsMessages.Disabled(current, account, request.Protocol)).ConfigureAwait(false));
    }

    private static SsoSettingsResponse Response(SsoSettingsEntry? settings) =>
        settings is null ? new SsoSettingsResponse() : new SsoSettingsResponse { Settings = SsoSettingsMessages.ToProto(settings) };
}
