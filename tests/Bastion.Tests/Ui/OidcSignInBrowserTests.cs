using System.Text.Json;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// Single sign-on with OpenID Connect in a real browser against a real provider (<see cref="OidcTestProvider"/>,
/// oidc-provider on loopback) and <c>server start</c> with TLS: the sign-in page offers it, the person becomes the
/// invited Bastion user with that e-mail, identity-provider groups give their Bastion groups' access (and the server
/// refuses the rest), hostile ID tokens (another issuer, another audience, an unpublished key, expired) are refused
/// and audited with the reason, uninvited people are refused unless just-in-time creation is on (no role then),
/// owners need MFA, and removing the user or turning SSO off ends the session. The rules on their own, unverified
/// e-mails included: <c>Security/Sso/SsoPolicyTests</c>.
/// </summary>
public sealed class OidcSignInBrowserTests(OidcSignInBrowserTests.Site site) : IClassFixture<OidcSignInBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>The server, the provider, chromium, and the account's users and groups, shared by the class's tests.</summary>
    public sealed class Site : SsoSite
    {
        private readonly string _secretFile = Path.Combine(Path.GetTempPath(), $"bastion-oidc-secret-{Guid.NewGuid():N}");

        internal OidcTestProvider Idp { get; private set; } = null!;

        protected override async Task StartProviderAsync()
        {
            var ns = Server.Server.Namespaces.All.Single(n => n.FullName == SignInServer.Namespace);
            await AddUserAsync("grouped@acme.test", AccountRole.None);
            await AddUserAsync("boss@acme.test", AccountRole.Owner);
            await Server.Server.Identities.CreateAsync(new UserGroupEntry
            {
                Id = "group-engineers",
                Account = SignInServer.Account,
                DisplayName = "Engineers",
                IdpGroup = "eng",
                NamespaceAccess = new Dictionary<string, Permission> { [ns.Id] = Permission.NamespaceRead },
            });
            Idp = await OidcTestProvider.StartAsync(Server.Url, new Dictionary<string, OidcTestProvider.Account>
            {
                ["writer"] = new(SignInServer.WriterEmail),
                ["grouped"] = new("grouped@acme.test", Groups: ["eng", "not-mapped"]),
                ["stranger"] = new("stranger@acme.test"),
                ["newcomer"] = new("newcomer@acme.test"),
                ["boss"] = new("boss@acme.test"),
                ["boss-mfa"] = new("boss@acme.test", Amr: ["pwd", "mfa"]),
                ["leaver"] = new("leaver@acme.test"),
            });
            await File.WriteAllTextAsync(_secretFile, OidcTestProvider.ClientSecret + "\n");
            await SetSsoAsync(s => s);
        }

        /// <summary>The account's SSO settings: the test provider, then <paramref name="change"/>.</summary>
        public Task SetSsoAsync(Func<SsoSettingsEntry, SsoSettingsEntry> change) =>
            Server.Server.Identities.SetSsoSettingsAsync(SignInServer.Account, _ => change(new SsoSettingsEntry
            {
                Id = string.Empty,
                Account = SignInServer.Account,
                Oidc = new OidcSettings(Idp.Issuer, OidcTestProvider.ClientId, _secretFile, null, "groups", ["groups"], Enabled: true),
            }));

        public Task<UserEntry> AddUserAsync(string email, AccountRole role) =>
            Server.Server.Identities.CreateAsync(new UserEntry { Id = "user-" + email.Split('@')[0], Account = SignInServer.Account, Email = email, Role = role });

        protected override async ValueTask StopProviderAsync()
        {
            if (Idp != null)
            {
                await Idp.DisposeAsync();
            }

            File.Delete(_secretFile);
        }
    }

    private string Ui => site.Server.Url;

    private static string Workflows => $"/namespaces/{SignInServer.Namespace}/workflows";

    [Fact]
    public async Task SigningInWithOidc_LandsOnThePageAsked_AsTheInvitedUser_Audited()
    {
        var before = SignIns(SignInServer.WriterEmail).Count();
        var (page, errors) = await site.NewPageAsync();
        await SsoSignInAsync(page, errors, "writer", Workflows, "oidc-sign-in");
        await ExpectVisibleAsync(page, page.GetByTestId("signed-in-as").GetByText(SignInServer.WriterEmail), errors, "oidc-signed-in");
        await Chromium.ScreenshotAsync(page, "oidc-signed-in");

        var session = await SessionAsync(page);
        Assert.Equal("oidc", session.GetProperty("method").GetString());
        Assert.Equal("user-writer", session.GetProperty("id").GetString());
        var record = Assert.Single(SignIns(SignInServer.WriterEmail).Skip(before));
        Assert.Equal(0, record.Status);
        Assert.Equal("oidc", record.Details["method"]);
        Assert.Equal("user-writer", record.PrincipalId);
        Assert.DoesNotContain(site.Server.Audit.Records, r => JsonSerializer.Serialize(r).Contains(OidcTestProvider.ClientSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task IdpGroups_GiveTheMirroredGroupsAccess_AndTheServerRefusesTheRest()
    {
        var (page, errors) = await site.NewPageAsync();
        await SsoSignInAsync(page, errors, "grouped", Workflows, "oidc-grouped");
        await ExpectVisibleAsync(page, page.GetByTestId("signed-in-as").GetByText("grouped@acme.test"), errors, "oidc-grouped");

        // The group "eng" mirrors gives read on the namespace: its page shows, a write is refused by the server.
        var group = site.Server.Server.Identities.Find<UserGroupEntry>("group-engineers")!;
        Assert.True(group.Members.ContainsKey("user-grouped"));
        var ns = Assert.Single((await SessionAsync(page)).GetProperty("namespaces").EnumerateArray());
        Assert.Equal(SignInServer.Namespace, ns.GetProperty("name").GetString());
        Assert.False(ns.GetProperty("write").GetBoolean());
        var (status, code, message) = await PageScript.FetchAsync(page, "POST", $"/api/v1/namespaces/{SignInServer.Namespace}/workflows/any/terminate", "{}");
        Assert.Equal(403, status);
        Assert.Equal(7, code);
        Assert.Contains("grouped@acme.test", message, StringComparison.Ordinal);
        var (accountStatus, _, _) = await PageScript.FetchAsync(page, "GET", "/cloud/users", null);
        Assert.Equal(403, accountStatus);
    }

    [Theory]
    [InlineData("issuer")]
    [InlineData("audience")]
    [InlineData("key")]
    [InlineData("expired")]
    public async Task AHostileIdToken_IsRefused_AndAuditedWithTheReason(string mode)
    {
        var expectedReason = mode == "key" ? "signature" : mode;
        var before = site.Server.Audit.Records.Count(r => r.Kind == AuditKinds.UiSignIn && r.Details.GetValueOrDefault("reason") == expectedReason);
        await site.Idp.TamperAsync(mode);
        var (page, errors) = await site.NewPageAsync();
        var error = await SsoRefusedAsync(page, errors, "writer", "oidc-hostile-" + mode);
        Assert.Contains("Single sign-on refused", error, StringComparison.Ordinal);

        var refusals = site.Server.Audit.Records.Where(r => r.Kind == AuditKinds.UiSignIn && r.Details.GetValueOrDefault("reason") == expectedReason).ToList();
        Assert.Equal(before + 1, refusals.Count);
        Assert.All(refusals, r => Assert.NotEqual(0, r.Status));
        Assert.All(refusals, r => Assert.DoesNotContain("eyJ", JsonSerializer.Serialize(r), StringComparison.Ordinal)); // no JWT in the record
        Assert.Equal(401, (await PageScript.FetchAsync(page, "GET", "/auth/session", null)).Status);
    }

    /// <summary>The provider's answer (code and state) replayed after it was used: its state's correlation cookie is gone, the code spent.</summary>
    [Fact]
    public async Task ACallbackReplayed_IsRefused_AndAudited()
    {
        var (page, errors) = await site.NewPageAsync();
        string? callback = null;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/auth/oidc/callback?", StringComparison.Ordinal))
            {
                callback = request.Url;
            }
        };
        await SsoSignInAsync(page, errors, "writer", "/namespaces", "oidc-replay");
        Assert.NotNull(callback);

        var before = site.Server.Audit.Records.Count(r => r.Kind == AuditKinds.UiSignIn && r.Details.GetValueOrDefault("reason") == "state");
        await page.GotoAsync(callback);
        await Chromium.WaitForAddressAsync(page, url => url.StartsWith(Ui + "/login?error=", StringComparison.Ordinal), s_wait);
        Assert.Equal(before + 1, site.Server.Audit.Records.Count(r => r.Kind == AuditKinds.UiSignIn && r.Details.GetValueOrDefault("reason") == "state"));
    }

    [Fact]
    public async Task AnUninvitedPerson_IsRefused_UnlessJustInTimeCreationIsOn_WhichGivesNoRole()
    {
        var (page, errors) = await site.NewPageAsync();
        var refused = await SsoRefusedAsync(page, errors, "stranger", "oidc-stranger");
        Assert.Contains("invite", refused, StringComparison.Ordinal);
        Assert.Null(site.Server.Server.Identities.UserByEmail(SignInServer.Account, "stranger@acme.test"));

        await site.SetSsoAsync(s => s with { JitUsers = true });
        try
        {
            var (jitPage, jitErrors) = await site.NewPageAsync();
            await SsoSignInAsync(jitPage, jitErrors, "newcomer", "/namespaces", "oidc-jit");
            var user = site.Server.Server.Identities.UserByEmail(SignInServer.Account, "newcomer@acme.test");
            Assert.NotNull(user);
            Assert.Equal(AccountRole.None, user.Role);
            Assert.Empty(user.NamespaceAccess);
            Assert.Empty((await SessionAsync(jitPage)).GetProperty("namespaces").EnumerateArray());
        }
        finally
        {
            await site.SetSsoAsync(s => s);
        }
    }

    [Fact]
    public async Task AnOwner_MustSignInWithMultipleFactors()
    {
        var (page, errors) = await site.NewPageAsync();
        Assert.Contains("multiple factors", await SsoRefusedAsync(page, errors, "boss", "oidc-owner-no-mfa"), StringComparison.Ordinal);

        var refusal = SignIns("boss@acme.test").Last();
        Assert.Equal("policy", refusal.Details["reason"]);
        Assert.Equal("pwd", refusal.Details["auth_methods"]);

        var (mfaPage, mfaErrors) = await site.NewPageAsync();
        await SsoSignInAsync(mfaPage, mfaErrors, "boss-mfa", "/namespaces", "oidc-owner-mfa");
        Assert.Equal("boss@acme.test", (await SessionAsync(mfaPage)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task RemovingTheUser_OrTurningSsoOff_EndsTheSession_Audited()
    {
        await site.AddUserAsync("leaver@acme.test", AccountRole.Read);
        var (page, errors) = await site.NewPageAsync();
        await SsoSignInAsync(page, errors, "leaver", "/namespaces", "oidc-leaver");
        Assert.Equal(200, await SessionStatusAsync(page));
        await site.Server.Server.Identities.DeleteAsync<UserEntry>(SignInServer.Account, "user-leaver", "User", null);
        // Ended at this call (which then names the reason) or already by the server's sweep: 401 either way, the reason audited.
        Assert.Equal(401, await SessionStatusAsync(page));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Ended("leaver@acme.test").Any(r => r.Details["reason"].Contains("removed", StringComparison.Ordinal)))));

        var (writerPage, writerErrors) = await site.NewPageAsync();
        await SsoSignInAsync(writerPage, writerErrors, "writer", "/namespaces", "oidc-then-off");
        await site.SetSsoAsync(s => s with { Oidc = s.Oidc! with { Enabled = false } });
        try
        {
            // Ended by the server's sweep after the change, or at the next call, whichever comes first.
            Assert.Equal(401, await SessionStatusAsync(writerPage));
            Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Ended(SignInServer.WriterEmail).Any(r => r.Details["reason"].Contains("turned off", StringComparison.Ordinal)))));
            using var http = site.Server.NewHttpClient();
            Assert.DoesNotContain("oidc", await http.GetStringAsync(new Uri("/auth/methods", UriKind.Relative)), StringComparison.Ordinal);
        }
        finally
        {
            await site.SetSsoAsync(s => s);
        }
    }

    [Fact]
    public async Task PeopleApiKeySignIn_TurnedOff_RefusesAPersonsKey_NotAnOwnersBreakGlass()
    {
        await site.SetSsoAsync(s => s with { PeopleApiKeySignIn = false });
        try
        {
            using var http = site.Server.NewHttpClient();
            using var refused = await SignInServer.SignInAsync(http, site.Server.WriterKey);
            Assert.Equal(403, (int)refused.StatusCode);
            Assert.Contains("single sign-on only", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var owner = await SignInServer.SignInAsync(http, SignInServer.OwnerKey);
            Assert.Equal(200, (int)owner.StatusCode);
            var methods = JsonDocument.Parse(await http.GetStringAsync(new Uri("/auth/methods", UriKind.Relative))).RootElement;
            Assert.False(methods.GetProperty("peopleApiKey").GetBoolean());
            Assert.Equal("/auth/oidc/start", Assert.Single(methods.GetProperty("sso").EnumerateArray()).GetProperty("start").GetString());
        }
        finally
        {
            await site.SetSsoAsync(s => s);
        }
    }

    private IEnumerable<AuditRecord> SignIns(string name) =>
        site.Server.Audit.Records.Where(r => r.Kind == AuditKinds.UiSignIn && r.PrincipalName == name);

    private IEnumerable<AuditRecord> Ended(string name) =>
        site.Server.Audit.Records.Where(r => r.Kind == AuditKinds.UiSessionEnded && r.PrincipalName == name);

    /// <summary>
    /// <c>GET /auth/session</c> with the page's cookies, from outside the page: a page whose session ended navigates to
    /// the sign-in page by itself, which would cut a script running in it short.
    /// </summary>
    private async Task<int> SessionStatusAsync(IPage page) => (await page.APIRequest.GetAsync(Ui + "/auth/session")).Status;

    private static async Task<JsonElement> SessionAsync(IPage page) =>
        JsonDocument.Parse(await page.EvaluateAsync<string>("async () => (await fetch('/auth/session')).text()")).RootElement;

    /// <summary>Opens <paramref name="path"/>, is sent to the sign-in page, chooses single sign-on, signs in at the provider as <paramref name="login"/> and is back on <paramref name="path"/>.</summary>
    private async Task SsoSignInAsync(IPage page, List<string> errors, string login, string path, string screenshot)
    {
        await SignInAtProviderAsync(page, errors, login, path, screenshot);
        await Chromium.ExplainedAsync(page, errors, screenshot + "-back", () => Chromium.WaitForAddressAsync(
            page, url => new Uri(url).AbsolutePath == path && url.StartsWith(Ui, StringComparison.Ordinal), s_wait));
    }

    /// <summary>
    /// For a sign-in Bastion refuses: starts at <c>/auth/oidc/start</c> (the sign-in page's link, which the accepted
    /// sign-ins go through), signs in at the provider, is back on Bastion's sign-in page; returns the error it shows.
    /// </summary>
    private async Task<string> SsoRefusedAsync(IPage page, List<string> errors, string login, string screenshot)
    {
        await SignInAtProviderAsync(page, errors, login, Workflows, screenshot, viaSignInPage: false);
        await Chromium.ExplainedAsync(page, errors, screenshot + "-to-error", () => Chromium.WaitForAddressAsync(
            page, url => url.StartsWith(Ui + "/login?error=", StringComparison.Ordinal), s_wait));
        var alert = page.GetByRole(AriaRole.Alert);
        await ExpectVisibleAsync(page, alert, errors, screenshot + "-refused");
        await Chromium.ScreenshotAsync(page, screenshot + "-refused");
        return await alert.InnerTextAsync();
    }

    private async Task SignInAtProviderAsync(IPage page, List<string> errors, string login, string path, string screenshot, bool viaSignInPage = true)
    {
        if (viaSignInPage)
        {
            await page.GotoAsync(Ui + path);
            await Chromium.ExplainedAsync(page, errors, screenshot + "-to-login", () => Chromium.WaitForAddressAsync(page, Chromium.AtSignIn, s_wait));
            var sso = page.GetByRole(AriaRole.Link, new() { Name = "Sign in with single sign-on" });
            await ExpectVisibleAsync(page, sso, errors, screenshot + "-page");
            await Chromium.ScreenshotAsync(page, screenshot + "-page");
            await sso.ClickAsync();
        }
        else
        {
            await page.GotoAsync(Ui + "/auth/oidc/start?returnUrl=" + Uri.EscapeDataString(path));
        }

        var loginField = page.GetByLabel("Login");
        await ExpectVisibleAsync(page, loginField, errors, screenshot + "-idp");
        await loginField.FillAsync(login);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
    }

    private static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot) =>
        Chromium.ExpectVisibleAsync(page, locator, errors, screenshot, s_wait);
}
