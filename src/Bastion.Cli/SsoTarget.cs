using Bastion.Api.Cloud.V1;
using Bastion.Security.Identity;
using Bastion.Security.Sso;
using Bastion.Wire;
using Google.Protobuf;
using Grpc.Core;

namespace Bastion.Cli;

/// <summary>
/// Where <c>bastion sso</c> reads and changes an account's SSO settings: a running server's SSO API, or the server's
/// database. Both take the API's requests and apply the same rules (<see cref="SsoSettingsMessages"/>), so a command
/// behaves the same either way.
/// </summary>
internal abstract class SsoTarget
{
    /// <summary>Whether this is a running server (which can seal a client secret).</summary>
    public abstract bool Remote { get; }

    public static SsoTarget Through(CallInvoker invoker) => new Api(invoker);

    public static SsoTarget OnDatabase(IdentityRegistry identities, string account) => new Database(identities, account);

    public abstract Task<SsoSettings?> GetAsync();

    public abstract Task<SsoSettings?> UpdateRulesAsync(UpdateSsoRulesRequest request);

    public abstract Task<SsoSettings?> SetOidcAsync(SetOidcProviderRequest request);

    public abstract Task<SsoSettings?> SetSamlAsync(SetSamlProviderRequest request);

    public abstract Task<SsoSettings?> DisableAsync(DisableSsoProviderRequest request);

    private sealed class Api(CallInvoker invoker) : SsoTarget
    {
        public override bool Remote => true;

        public override Task<SsoSettings?> GetAsync() => CallAsync(SsoServiceMethods.GetSsoSettings, new GetSsoSettingsRequest());

        public override Task<SsoSettings?> UpdateRulesAsync(UpdateSsoRulesRequest request) => CallAsync(SsoServiceMethods.UpdateSsoRules, request);

        public override Task<SsoSettings?> SetOidcAsync(SetOidcProviderRequest request) => CallAsync(SsoServiceMethods.SetOidcProvider, request);

        public override Task<SsoSettings?> SetSamlAsync(SetSamlProviderRequest request) => CallAsync(SsoServiceMethods.SetSamlProvider, request);

        public override Task<SsoSettings?> DisableAsync(DisableSsoProviderRequest request) => CallAsync(SsoServiceMethods.DisableSsoProvider, request);

        private async Task<SsoSettings?> CallAsync<TRequest>(string method, TRequest request)
            where TRequest : class, IMessage<TRequest>, new()
        {
            var response = await invoker.AsyncUnaryCall(SsoServiceMethods.Of<TRequest>(method), null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), request).ConfigureAwait(false);
            return response.Settings;
        }
    }

    private sealed class Database(IdentityRegistry identities, string account) : SsoTarget
    {
        public override bool Remote => false;

        public override Task<SsoSettings?> GetAsync() => Task.FromResult(identities.SsoSettingsOf(account) is { } s ? SsoSettingsMessages.ToProto(s) : null);

        public override Task<SsoSettings?> UpdateRulesAsync(UpdateSsoRulesRequest request) =>
            SetAsync(current => SsoSettingsMessages.WithRules(current ?? SsoSettingsMessages.Empty(account), request));

        public override Task<SsoSettings?> SetOidcAsync(SetOidcProviderRequest request)
        {
            var oidc = SsoSettingsMessages.Oidc(request); // a secret itself never comes here (the command refuses it first)
            return SetAsync(current => (current ?? SsoSettingsMessages.Empty(account)) with { Oidc = oidc });
        }

        public override Task<SsoSettings?> SetSamlAsync(SetSamlProviderRequest request)
        {
            var saml = SsoSettingsMessages.Saml(request);
            return SetAsync(current => (current ?? SsoSettingsMessages.Empty(account)) with { Saml = saml });
        }

        public override Task<SsoSettings?> DisableAsync(DisableSsoProviderRequest request)
        {
            SsoSettingsMessages.Disabled(identities.SsoSettingsOf(account), account, request.Protocol); // refuses before any write
            return SetAsync(current => SsoSettingsMessages.Disabled(current, account, request.Protocol));
        }

        private async Task<SsoSettings?> SetAsync(Func<SsoSettingsEntry?, SsoSettingsEntry> change) =>
            SsoSettingsMessages.ToProto(await identities.SetSsoSettingsAsync(account, change).ConfigureAwait(false));
    }
}
