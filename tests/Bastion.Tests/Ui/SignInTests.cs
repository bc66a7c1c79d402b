using System.Net;
using System.Text.Json;
using Bastion.Security.Audit;
using Temporalio.Api.Enums.V1;

namespace Bastion.Tests.Ui;

/// <summary>
/// Sign-in and sessions of the web UI under <c>server start</c>, over HTTPS without a browser: the cookies' attributes,
/// refused keys, the CSRF token on writes, the timeouts on a clock the test moves, sign-out, and the audit records.
/// </summary>
public sealed class SignInTests : IAsyncLifetime, IDisposable
{
    private readonly ManualTime _time = new(DateTimeOffset.UtcNow);
    private readonly SignInServer _site;
    private HttpClient _http = null!;

    public SignInTests() => _site = new SignInServer(_time);

    public async Task InitializeAsync()
    {
        await _site.StartAsync();
        _http = _site.NewHttpClient();
    }

    public async Task DisposeAsync() => await _site.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private Task<UiCookies> SignInAsync(string apiKey) => UiCookies.SignInAsync(_http, apiKey);

    private static Dictionary<string, (string Value, string[] Attributes)> SetCookies(HttpResponseMessage response) => UiCookies.SetCookies(response);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, UiCookies? cookies, string? csrf = null, string? body = null) =>
        UiCookies.SendAsync(_http, method, path, cookies, csrf, body);

    private Task<HttpResponseMessage> ListWorkflowsAsync(UiCookies? cookies) =>
        SendAsync(HttpMethod.Get, $"/api/v1/namespaces/{SignInServer.Namespace}/workflows", cookies);

    [Fact]
    public async Task SignIn_SetsAnHttpOnlySecureStrictSessionCookie_AndTheCsrfCookieTheUiReads()
    {
        using var response = await SignInServer.SignInAsync(_http, _site.WriterKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cookies = SetCookies(response);

        var (session, sessionAttributes) = cookies["__Host-bastion-session"];
        Assert.Equal(43, session.Length); // 256 random bits, base64url
        Assert.Contains("httponly", sessionAttributes);
        Assert.Contains("secure", sessionAttributes);
        Assert.Contains("samesite=strict", sessionAttributes);
        Assert.Contains("path=/", sessionAttributes);
        Assert.DoesNotContain(sessionAttributes, a => a.StartsWith("domain", StringComparison.Ordinal));

        // Temporal's UI reads _csrf from document.cookie and sends it back in X-CSRF-TOKEN: readable, but as strict.
        var (csrf, csrfAttributes) = cookies["_csrf"];
        Assert.Equal(43, csrf.Length);
        Assert.NotEqual(session, csrf);
        Assert.DoesNotContain("httponly", csrfAttributes);
        Assert.Contains("secure", csrfAttributes);
        Assert.Contains("samesite=strict", csrfAttributes);

        using var info = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(SignInServer.WriterEmail, info.RootElement.GetProperty("name").GetString());
        var ns = Assert.Single(info.RootElement.GetProperty("namespaces").EnumerateArray());
        Assert.Equal((SignInServer.Namespace, true), (ns.GetProperty("name").GetString(), ns.GetProperty("write").GetBoolean()));
    }

    [Fact]
    public async Task SignIn_WithABadKey_IsRefused_SetsNoCookie_AndIsAuditedWithoutTheKey()
    {
        var wrong = _site.WriterKey[..^4] + (_site.WriterKey.EndsWith("aaaa", StringComparison.Ordinal) ? "bbbb" : "aaaa");
        using var response = await SignInServer.SignInAsync(_http, wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(SetCookies(response));
        using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("not valid", status.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);

        var record = Assert.Single(_site.Audit.Records, r => r.Kind == AuditKinds.UiSignIn);
        Assert.Equal(("Anonymous", (int)Grpc.Core.StatusCode.Unauthenticated, "ui"), (record.PrincipalType, record.Status, record.Via));
        var stored = System.Text.Encoding.UTF8.GetString(AuditJson.Serialize(record, "node/test", 1, new byte[32]));
        Assert.DoesNotContain(wrong, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong[^20..], stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_TakesJsonOnly_SoNoCrossSiteFormSignsAVisitorIn()
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["apiKey"] = _site.WriterKey });
        using var response = await _http.PostAsync(new Uri("/auth/sign-in", UriKind.Relative), form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(SetCookies(response));
    }

    [Fact]
    public async Task Settings_SayTheUiSignsIn()
    {
        using var settings = JsonDocument.Parse(await _http.GetStringAsync(new Uri("/api/v1/settings", UriKind.Relative)));
        Assert.True(settings.RootElement.GetProperty("Auth").GetProperty("Enabled").GetBoolean());
    }

    [Fact]
    public async Task AnApiCall_WithoutASession_Is401_WithOne_RunsAsTheUser_AuditedViaUi()
    {
        using (var refused = await ListWorkflowsAsync(null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var forged = await ListWorkflowsAsync(new UiCookies("not-a-session", "x")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        var cookies = await SignInAsync(_site.WriterKey);
        using var response = await ListWorkflowsAsync(cookies);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = Assert.Single(_site.Audit.Records, r => r.Operation.EndsWith("/ListWorkflowExecutions", StringComparison.Ordinal));
        Assert.Equal(("User", SignInServer.WriterEmail, "ui", SignInServer.Namespace), (record.PrincipalType, record.PrincipalName, record.Via, record.Namespace));
        Assert.NotNull(record.ApiKeyId);

        var signIn = Assert.Single(_site.Audit.Records, r => r.Kind == AuditKinds.UiSignIn);
        Assert.Equal((SignInServer.WriterEmail, 0), (signIn.PrincipalName, signIn.Status));
        foreach (var secret in new[] { cookies.Session, cookies.Csrf, _site.WriterKey })
        {
            Assert.DoesNotContain(_site.Audit.Records, r => System.Text.Encoding.UTF8.GetString(AuditJson.Serialize(r, "node/test", 1, new byte[32])).Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task TheSessionCookie_IsNoCredentialOffTheUisOrigin_OnTheGrpcListener()
    {
        var cookies = await SignInAsync(_site.WriterKey);
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var call = await TemporalClient.ConnectAsync(new($"127.0.0.1:{_site.Server.Port}")
            {
                Namespace = SignInServer.Namespace,
                Tls = new TlsOptions { ServerRootCACert = Security.Tls.TestPki.PemBytes(_site.ServerCa), Domain = "bastion.test" },
                RpcMetadata = new Dictionary<string, string> { ["cookie"] = cookies.Header },
            });
            await call.WorkflowService.ListWorkflowExecutionsAsync(new() { Namespace = SignInServer.Namespace });
        });
        Assert.Contains("No valid credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrite_NeedsTheSessionsCsrfToken()
    {
        var client = await _site.ConnectAsync();
        var id = "ui-csrf-" + Guid.NewGuid().ToString("N");
        var handle = await client.StartWorkflowAsync("Anything", [], new(id, "no-worker-" + id));
        var cookies = await SignInAsync(_site.WriterKey);
        var other = await SignInAsync(_site.WriterKey); // another session of the same user: its token is not this one's
        var terminate = $"/api/v1/namespaces/{SignInServer.Namespace}/workflows/{id}/terminate";

        foreach (var csrf in new string?[] { null, string.Empty, "forged", other.Csrf })
        {
            using var refused = await SendAsync(HttpMethod.Post, terminate, cookies, csrf, "{\"reason\":\"csrf\"}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("CSRF", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);
        using var accepted = await SendAsync(HttpMethod.Post, terminate, cookies, cookies.Csrf, "{\"reason\":\"from the UI\"}");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(WorkflowExecutionStatus.Terminated, (await handle.DescribeAsync()).Status);
    }

    [Fact]
    public async Task ASession_EndsAfterItsIdleTimeout()
    {
        var cookies = await SignInAsync(_site.WriterKey);
        var idle = _site.Server.UiSessionOptions.IdleTimeout;
        _time.Advance(idle - TimeSpan.FromSeconds(1));
        using (var used = await ListWorkflowsAsync(cookies))
        {
            Assert.Equal(HttpStatusCode.OK, used.StatusCode); // and this use restarts the idle clock
        }

        _time.Advance(idle - TimeSpan.FromSeconds(1));
        using (var stillUsed = await ListWorkflowsAsync(cookies))
        {
            Assert.Equal(HttpStatusCode.OK, stillUsed.StatusCode);
        }

        _time.Advance(idle);
        using var ended = await ListWorkflowsAsync(cookies);
        Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);

        // The end is an audit record with the principal, whoever noticed it first (this call or the server's sweep).
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_site.Audit.Records.Any(r => r.Kind == AuditKinds.UiSessionEnded))));
        var record = Assert.Single(_site.Audit.Records, r => r.Kind == AuditKinds.UiSessionEnded);
        Assert.Equal(SignInServer.WriterEmail, record.PrincipalName);
        Assert.Equal("timed out", record.Details["reason"]);
        Assert.Equal("api-key", record.Details["method"]);
    }

    [Fact]
    public async Task ASession_EndsAtItsAbsoluteTimeout_HoweverActive()
    {
        var cookies = await SignInAsync(_site.WriterKey);
        var options = _site.Server.UiSessionOptions;
        Assert.Equal(TimeSpan.FromHours(8), options.AbsoluteTimeout);
        var step = options.IdleTimeout / 2;
        var elapsed = TimeSpan.Zero;
        while (elapsed + step < options.AbsoluteTimeout)
        {
            _time.Advance(step);
            elapsed += step;
            using var used = await ListWorkflowsAsync(cookies);
            Assert.Equal(HttpStatusCode.OK, used.StatusCode);
        }

        _time.Advance(options.AbsoluteTimeout - elapsed);
        using var ended = await ListWorkflowsAsync(cookies);
        Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);
    }

    [Fact]
    public async Task SigningOut_EndsTheSession_TheOldCookieNoLongerWorks()
    {
        var cookies = await SignInAsync(_site.WriterKey);
        using (var withoutToken = await SendAsync(HttpMethod.Post, "/auth/sign-out", cookies))
        {
            Assert.Equal(HttpStatusCode.Forbidden, withoutToken.StatusCode); // no other site signs people out either
        }

        using (var signOut = await SendAsync(HttpMethod.Post, "/auth/sign-out", cookies, cookies.Csrf))
        {
            Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
            var cleared = SetCookies(signOut);
            Assert.Equal(string.Empty, cleared["__Host-bastion-session"].Value);
            Assert.Equal(string.Empty, cleared["_csrf"].Value);
        }

        using var after = await ListWorkflowsAsync(cookies);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using var who = await SendAsync(HttpMethod.Get, "/auth/session", cookies);
        Assert.Equal(HttpStatusCode.Unauthorized, who.StatusCode);
        var record = Assert.Single(_site.Audit.Records, r => r.Kind == AuditKinds.UiSignOut);
        Assert.Equal((SignInServer.WriterEmail, "ui"), (record.PrincipalName, record.Via));
    }

    [Fact]
    public async Task AKeyDisabledAfterSignIn_StopsItsSessionsNextCall()
    {
        var cookies = await SignInAsync(_site.WriterKey);
        var keyId = Bastion.Security.Identity.ApiKeyToken.Parse(_site.WriterKey).PublicId;
        await _site.Server.Identities.UpdateAsync<Bastion.Security.Identity.ApiKeyEntry>(SignInServer.Account, keyId, "API key", null, k => k with { Disabled = true });
        using var response = await ListWorkflowsAsync(cookies);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("disabled", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
