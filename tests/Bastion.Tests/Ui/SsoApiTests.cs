using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Bastion.Api.Cloud.V1;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Sessions;
using Bastion.Tests.Security;
using Bastion.Tests.Security.Tls;
using Bastion.Wire;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Bastion.Tests.Ui;

/// <summary>
/// An account's single sign-on through Bastion's SSO API (<c>bastion.cloud.v1.SsoService</c>, next to the Cloud Ops API
/// on the gRPC listener) of a <c>server start</c>-style server: an account admin sets, shows and turns providers off;
/// anyone below admin is refused PERMISSION_DENIED and changes nothing; a client secret given there is kept sealed and
/// never comes back (not in an answer, an audit record or the settings record); turning a provider off through the
/// API ends the sessions signed in with it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The server is disposed in DisposeAsync (IAsyncLifetime).")]
public sealed class SsoApiTests : IAsyncLifetime
{
    private readonly SignInServer _site;
    private string _adminKey = string.Empty;

    public SsoApiTests() => _site = new SignInServer();

    public async Task InitializeAsync()
    {
        await _site.StartAsync();
        var ns = _site.Server.Namespaces.All.Single(n => n.FullName == SignInServer.Namespace);
        _adminKey = await _site.UserWithKeyAsync("admin@acme.test", AccountRole.Admin, ns, Permission.NamespaceRead);
    }

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task AnAccountAdmin_SetsShowsAndDisablesSso_ThroughTheApi()
    {
        var oidc = await CallAsync(_adminKey, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest
        {
            Issuer = "https://idp.acme.test/", ClientId = "bastion", ClientSecretEnv = "BASTION_OIDC_SECRET", GroupsClaim = "groups", Scopes = { "groups" },
        });
        Assert.Equal(("https://idp.acme.test/", "bastion", "BASTION_OIDC_SECRET", true, false), (oidc.Oidc.Issuer, oidc.Oidc.ClientId, oidc.Oidc.ClientSecretEnv, oidc.Oidc.Enabled, oidc.Oidc.ClientSecretStored));
        await CallAsync(_adminKey, SsoServiceMethods.SetSamlProvider, new SetSamlProviderRequest { IdpMetadata = "https://idp.acme.test/metadata", SpEntityId = "urn:bastion:acme", GroupsAttribute = "groups" });
        await CallAsync(TheOwner, SsoServiceMethods.UpdateSsoRules, new UpdateSsoRulesRequest { JitUsers = true, RequireMfa = MfaRule.All, MfaValues = { "otp" } });

        var shown = await CallAsync(_adminKey, SsoServiceMethods.GetSsoSettings, new GetSsoSettingsRequest());
        Assert.Equal(("urn:bastion:acme", true, "groups"), (shown.Saml.SpEntityId, shown.Saml.Enabled, shown.Oidc.GroupsClaim));
        Assert.Equal((true, MfaRule.All, "otp", true), (shown.JitUsers, shown.RequireMfa, Assert.Single(shown.MfaValues), shown.PeopleApiKeySignIn));

        var disabled = await CallAsync(_adminKey, SsoServiceMethods.DisableSsoProvider, new DisableSsoProviderRequest { Protocol = SsoProtocol.Oidc });
        Assert.False(disabled.Oidc.Enabled);
        Assert.True(disabled.Saml.Enabled);
        var stored = _site.Server.Identities.SsoSettingsOf(SignInServer.Account)!;
        Assert.Equal((false, true, true), (stored.Oidc!.Enabled, stored.Saml!.Enabled, stored.JitUsers));

        // Bad input is refused by name, before anything is stored.
        var http = await Assert.ThrowsAsync<RpcException>(() => CallAsync(_adminKey, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest { Issuer = "http://idp.acme.test", ClientId = "b" }));
        Assert.Equal(StatusCode.InvalidArgument, http.StatusCode);
        Assert.Contains("issuer", http.Status.Detail, StringComparison.Ordinal);
        var unnamed = await Assert.ThrowsAsync<RpcException>(() => CallAsync(_adminKey, SsoServiceMethods.DisableSsoProvider, new DisableSsoProviderRequest()));
        Assert.Equal(StatusCode.InvalidArgument, unnamed.StatusCode);
        Assert.Equal(stored.Version, _site.Server.Identities.SsoSettingsOf(SignInServer.Account)!.Version);

        // Each call has its record with the caller, and each change its account event on the settings record.
        Assert.Contains(_site.Audit.Records, r => r.Operation.EndsWith("SsoService/SetOidcProvider", StringComparison.Ordinal) && r.PrincipalName == "admin@acme.test" && r.Status == 0);
        var events = await AccountEventsAsync();
        Assert.Equal(["SetOidcProvider", "SetSamlProvider", "UpdateSsoRules", "DisableSsoProvider"], events.Select(e => e.Operation.Split('/')[^1]));
        Assert.All(events, e => Assert.Equal("sso-settings", e.Details["target_type"]));
        Assert.Equal(("False", "True", "environment"), (events[^1].Details["oidc_enabled"], events[^1].Details["saml_enabled"], events[^1].Details["oidc_client_secret"]));
    }

    [Theory]
    [InlineData(SignInServer.WriterEmail)]
    [InlineData(SignInServer.ReaderEmail)]
    public async Task BelowAccountAdmin_IsRefusedPermissionDenied_AndChangesNothing(string who)
    {
        var key = who == SignInServer.WriterEmail ? _site.WriterKey : _site.ReaderKey;
        var read = await Assert.ThrowsAsync<RpcException>(() => CallAsync(key, SsoServiceMethods.GetSsoSettings, new GetSsoSettingsRequest()));
        Assert.Equal(StatusCode.PermissionDenied, read.StatusCode);
        var write = await Assert.ThrowsAsync<RpcException>(() => CallAsync(key, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest { Issuer = "https://evil.test", ClientId = "x" }));
        Assert.Equal(StatusCode.PermissionDenied, write.StatusCode);
        Assert.Null(_site.Server.Identities.SsoSettingsOf(SignInServer.Account));
        Assert.Contains(_site.Audit.Records, r => r.Operation.EndsWith("SsoService/SetOidcProvider", StringComparison.Ordinal) && r.PrincipalName == who && r.Status == (int)StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task AClientSecretGivenThroughTheApi_IsKeptSealed_AndNeverComesBack()
    {
        var secret = "oidc-secret-" + Guid.NewGuid().ToString("N");
        var set = await CallResponseAsync(_adminKey, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest { Issuer = "https://idp.acme.test", ClientId = "bastion", ClientSecret = secret });
        var shown = await CallResponseAsync(_adminKey, SsoServiceMethods.GetSsoSettings, new GetSsoSettingsRequest());
        foreach (var response in new[] { set, shown })
        {
            Assert.True(response.Settings.Oidc.ClientSecretStored);
            Assert.DoesNotContain(secret, Encoding.UTF8.GetString(response.ToByteArray()), StringComparison.Ordinal);
            Assert.DoesNotContain(secret, JsonFormatter.Default.Format(response), StringComparison.Ordinal);
        }

        // The sign-in reads it back; the database holds it only sealed, and the settings record not at all.
        var settings = _site.Server.Identities.SsoSettingsOf(SignInServer.Account)!;
        Assert.Equal(secret, _site.Server.OidcClientSecret.Read(SignInServer.Account, settings.Oidc!));
        var sealedValue = Assert.Single(await _site.Server.Storage.SignIn.ListSealedAsync("oidc-client-secret/", CancellationToken.None));
        Assert.DoesNotContain(secret, sealedValue.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, Encoding.UTF8.GetString(Convert.FromBase64String(sealedValue.Value)), StringComparison.Ordinal);
        Assert.All(await _site.Server.Storage.Metadata.ListIdentitiesAsync(CancellationToken.None), r => Assert.DoesNotContain(secret, Encoding.UTF8.GetString(r.Data), StringComparison.Ordinal));

        // Not in any audit record: the calls' nor the account event's.
        Assert.All(_site.Audit.Records, r => Assert.DoesNotContain(secret, Encoding.UTF8.GetString(AuditJson.Serialize(r, "test", 1, [])), StringComparison.Ordinal));
        Assert.All(await _site.Server.AuditStore.AllAsync(), r => Assert.DoesNotContain(secret, Encoding.UTF8.GetString(r.Data), StringComparison.Ordinal));
        Assert.Equal("stored", (await AccountEventsAsync())[^1].Details["oidc_client_secret"]);

        // Read from elsewhere now: the kept secret is dropped.
        await CallAsync(_adminKey, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest { Issuer = "https://idp.acme.test", ClientId = "bastion", ClientSecretEnv = "OIDC_SECRET" });
        Assert.Empty(await _site.Server.Storage.SignIn.ListSealedAsync("oidc-client-secret/", CancellationToken.None));
        var two = await Assert.ThrowsAsync<RpcException>(() => CallAsync(_adminKey, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest { Issuer = "https://idp.acme.test", ClientId = "b", ClientSecret = "x", ClientSecretEnv = "Y" }));
        Assert.Equal(StatusCode.InvalidArgument, two.StatusCode);
        Assert.DoesNotContain("\"x\"", two.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisablingAProviderThroughTheApi_EndsItsSessions()
    {
        await CallAsync(_adminKey, SsoServiceMethods.SetOidcProvider, new SetOidcProviderRequest { Issuer = "https://idp.acme.test", ClientId = "bastion" });
        var writer = _site.Server.Identities.UserByEmail(SignInServer.Account, SignInServer.WriterEmail)!;
        var (_, id, csrf) = _site.Server.UiSessions.Create(_site.Server.Identities.PrincipalOf(writer), UiSession.OidcMethod, mfa: true);
        var cookies = new UiCookies(id, csrf);
        using var http = _site.NewHttpClient();
        using (var before = await UiCookies.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/{SignInServer.Namespace}/workflows", cookies))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await CallAsync(_adminKey, SsoServiceMethods.DisableSsoProvider, new DisableSsoProviderRequest { Protocol = SsoProtocol.Oidc });
        using var after = await UiCookies.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/{SignInServer.Namespace}/workflows", cookies);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("turned off", await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private string TheOwner => SignInServer.OwnerKey;

    private async Task<SsoSettings> CallAsync<TRequest>(string apiKey, string method, TRequest request)
        where TRequest : class, IMessage<TRequest>, new() => (await CallResponseAsync(apiKey, method, request)).Settings;

    private async Task<SsoSettingsResponse> CallResponseAsync<TRequest>(string apiKey, string method, TRequest request)
        where TRequest : class, IMessage<TRequest>, new()
    {
        using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{_site.Server.Port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    TargetHost = "bastion.test",
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = (_, presented, _, errors) => TestPki.ServerChainsTo(_site.ServerCa, presented, errors),
                },
            },
        });
        var headers = new Metadata { { "authorization", "Bearer " + apiKey } };
        return await channel.CreateCallInvoker().AsyncUnaryCall(SsoServiceMethods.Of<TRequest>(method), null, new CallOptions(headers, DateTime.UtcNow.AddSeconds(30)), request);
    }

    /// <summary>The account events written with the settings record's changes, oldest first.</summary>
    private async Task<List<AuditRecord>> AccountEventsAsync() =>
        [.. (await _site.Server.AuditStore.AllAsync())
            .Select(r => AuditJson.Parse(r.Data).Record)
            .Where(r => r.Details.GetValueOrDefault("target_type") == "sso-settings")];
}
