using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Bastion.Security.Identity;

namespace Bastion.Tests.Ui;

/// <summary>
/// The Cloud Ops API's HTTP routes (<c>/cloud/...</c>) without a browser, under <c>server start</c>: on the web UI's
/// origin they need a session, run as its principal through the security pipeline (roles apply, audited
/// <c>"via": "ui"</c>) and take writes only with the session's CSRF token; on the HTTP API's own listener they take an
/// API key like the other routes. <c>/auth/session</c> says what the person may do on the account.
/// </summary>
public sealed class CloudRoutesTests : IAsyncLifetime, IDisposable
{
    private const string CloudService = "temporal.api.cloud.cloudservice.v1.CloudService/";
    private readonly SignInServer _site = new();
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await _site.StartAsync();
        _http = _site.NewHttpClient();
    }

    public async Task DisposeAsync() => await _site.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, UiCookies? cookies, string? csrf = null, string? body = null) =>
        UiCookies.SendAsync(_http, method, path, cookies, csrf, body);

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    private static string ServiceAccount(string name) =>
        JsonSerializer.Serialize(new
        {
            spec = new { name, namespaceScopedAccess = new { @namespace = SignInServer.Namespace, access = new { permission = "PERMISSION_WRITE" } } },
        });

    private IEnumerable<ServiceAccountEntry> ServiceAccountsNamed(string name) =>
        _site.Server.Identities.All<ServiceAccountEntry>(SignInServer.Account).Where(a => a.Name == name);

    [Fact]
    public async Task ACloudCall_WithoutASession_Is401_WithOne_RunsAsTheUser_AuditedViaUi()
    {
        using (var refused = await SendAsync(HttpMethod.Get, "/cloud/current-identity", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var writer = await UiCookies.SignInAsync(_http, _site.WriterKey);
        using var response = await SendAsync(HttpMethod.Get, "/cloud/current-identity", writer);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var identity = await JsonAsync(response);
        Assert.Equal(SignInServer.WriterEmail, identity.GetProperty("user").GetProperty("spec").GetProperty("email").GetString());

        var record = Assert.Single(_site.Audit.Records, r => r.Operation == CloudService + "GetCurrentIdentity");
        Assert.Equal(("User", SignInServer.WriterEmail, "ui", 0), (record.PrincipalType, record.PrincipalName, record.Via, record.Status));
    }

    [Fact]
    public async Task ACloudWrite_NeedsTheSessionsCsrfToken_ThenRunsAsTheOwner_AuditedViaUi()
    {
        var owner = await UiCookies.SignInAsync(_http, SignInServer.OwnerKey);
        foreach (var csrf in new[] { null, "forged-token" })
        {
            using var refused = await SendAsync(HttpMethod.Post, "/cloud/service-accounts", owner, csrf, ServiceAccount("csrf-worker"));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("CSRF", (await JsonAsync(refused)).GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(ServiceAccountsNamed("csrf-worker"));

        using var created = await SendAsync(HttpMethod.Post, "/cloud/service-accounts", owner, owner.Csrf, ServiceAccount("csrf-worker"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = (await JsonAsync(created)).GetProperty("serviceAccountId").GetString();
        Assert.Equal(id, Assert.Single(ServiceAccountsNamed("csrf-worker")).Id);

        var record = Assert.Single(_site.Audit.Records, r => r.Operation == CloudService + "CreateServiceAccount" && r.Status == 0);
        Assert.Equal(("User", "owner@localhost", "ui"), (record.PrincipalType, record.PrincipalName, record.Via));
    }

    [Fact]
    public async Task AReadersCloudWrite_WithTheRightCsrfToken_IsPermissionDenied_AndAuditedAsTheReader()
    {
        var reader = await UiCookies.SignInAsync(_http, _site.ReaderKey);
        using (var list = await SendAsync(HttpMethod.Get, "/cloud/users", reader))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode); // the read role reads the account's users
        }

        using var refused = await SendAsync(HttpMethod.Post, "/cloud/service-accounts", reader, reader.Csrf, ServiceAccount("reader-worker"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal((int)Grpc.Core.StatusCode.PermissionDenied, (await JsonAsync(refused)).GetProperty("code").GetInt32());
        Assert.Empty(ServiceAccountsNamed("reader-worker"));

        var record = Assert.Single(_site.Audit.Records, r => r.Operation == CloudService + "CreateServiceAccount");
        Assert.Equal((SignInServer.ReaderEmail, "ui", (int)Grpc.Core.StatusCode.PermissionDenied), (record.PrincipalName, record.Via, record.Status));
    }

    [Fact]
    public async Task TheSession_SaysWhatThePersonMayDoOnTheAccount_AndInEachNamespace()
    {
        static async Task<JsonElement> SessionAsync(HttpClient http, UiCookies cookies)
        {
            using var response = await UiCookies.SendAsync(http, HttpMethod.Get, "/auth/session", cookies);
            return await JsonAsync(response);
        }

        var owner = await SessionAsync(_http, await UiCookies.SignInAsync(_http, SignInServer.OwnerKey));
        Assert.True(owner.GetProperty("account").GetProperty("admin").GetBoolean());
        Assert.True(owner.GetProperty("account").GetProperty("createNamespace").GetBoolean());
        Assert.True(owner.GetProperty("namespaces")[0].GetProperty("admin").GetBoolean());

        var reader = await SessionAsync(_http, await UiCookies.SignInAsync(_http, _site.ReaderKey));
        var account = reader.GetProperty("account");
        Assert.Equal((true, true, false, false), (account.GetProperty("member").GetBoolean(), account.GetProperty("read").GetBoolean(), account.GetProperty("admin").GetBoolean(), account.GetProperty("createNamespace").GetBoolean()));
        var ns = Assert.Single(reader.GetProperty("namespaces").EnumerateArray());
        Assert.Equal((false, false), (ns.GetProperty("write").GetBoolean(), ns.GetProperty("admin").GetBoolean()));
    }

    [Fact]
    public async Task TheHttpApiListener_ServesTheCloudRoutes_WithAnApiKey()
    {
        using var http = _site.NewHttpClient(_site.HttpApiUrl);
        using (var anonymous = await http.GetAsync(new Uri("/cloud/namespaces", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/cloud/namespaces/{SignInServer.Namespace}", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SignInServer.OwnerKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ns = (await JsonAsync(response)).GetProperty("namespace");
        Assert.Equal(SignInServer.Namespace, ns.GetProperty("namespace").GetString());
        Assert.True(ns.GetProperty("spec").GetProperty("apiKeyAuth").GetProperty("enabled").GetBoolean());
        var record = Assert.Single(_site.Audit.Records, r => r.Operation == CloudService + "GetNamespace");
        Assert.Equal(("owner@localhost", (string?)null), (record.PrincipalName, record.Via));
    }

    [Fact]
    public async Task TheSessionCookie_IsNoCredentialOnTheHttpApiListener()
    {
        var owner = await UiCookies.SignInAsync(_http, SignInServer.OwnerKey);
        using var http = _site.NewHttpClient(_site.HttpApiUrl);
        using var response = await UiCookies.SendAsync(http, HttpMethod.Get, "/cloud/namespaces", owner);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
