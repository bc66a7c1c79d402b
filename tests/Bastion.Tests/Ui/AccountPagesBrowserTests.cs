using System.Net;
using System.Text.Json;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// Bastion's account pages (<c>/account/...</c>, on the Cloud Ops API's <c>/cloud/...</c> routes) in a real browser
/// under <c>server start</c>, with the durable audit log the audit page reads: an admin makes a service account and
/// an API key whose secret is shown once and works for the SDK, and finds both in the audit log under their name; a
/// reader is offered no changes and the server refuses a forged one; a namespace's retention and codec endpoint set on
/// its page are what DescribeNamespace says; the audit filters narrow the list and the export holds what is shown.
/// </summary>
public sealed class AccountPagesBrowserTests(AccountPagesBrowserTests.Site site) : IClassFixture<AccountPagesBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>The server (durable audit log), a call on the namespace by the SDK, and chromium, shared by the class's tests.</summary>
    public sealed class Site : IAsyncLifetime
    {
        private Chromium? _browser;

        internal SignInServer Server { get; } = new(durableAudit: true);

        public string Run { get; } = Guid.NewGuid().ToString("N")[..8];

        public Task<(IPage Page, List<string> Errors)> NewPageAsync() => _browser!.NewPageAsync(trustAnyCertificate: true);

        public async Task InitializeAsync()
        {
            _browser = await Chromium.LaunchAsync();
            await Server.StartAsync();
            var client = await Server.ConnectAsync();
            await client.CountWorkflowsAsync(string.Empty); // a namespace call by the writer, for the audit filters
        }

        public async Task DisposeAsync()
        {
            if (_browser != null)
            {
                await _browser.DisposeAsync();
            }

            await Server.DisposeAsync();
        }
    }

    private string Ui => site.Server.Url;

    /// <summary><see cref="Chromium.SignInAsync"/> on this class's server.</summary>
    private Task SignInAsync(IPage page, List<string> errors, string apiKey, string path) =>
        Chromium.SignInAsync(page, errors, Ui, apiKey, path, "account-sign-in", s_wait);

    private static ILocator Confirm(IPage page, string modal) => page.Locator($"#{modal} [data-testid=confirm-modal-button]");

    [Fact]
    public async Task AnAdmin_CreatesAServiceAccountAndAKey_TheSecretIsShownOnce_WorksForTheSdk_AndTheAuditLogNamesTheAdmin()
    {
        var name = "ui-worker-" + site.Run;
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, SignInServer.OwnerKey, "/account/service-accounts");
        var create = page.GetByTestId("create-service-account");
        await ExpectVisibleAsync(page, create, errors, "account-service-accounts");
        await create.ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByLabel("one namespace").CheckAsync();
        await page.Locator("#service-account-namespace").SelectOptionAsync(SignInServer.Namespace);
        await page.Locator("#service-account-permission").SelectOptionAsync("write");
        await Chromium.ScreenshotAsync(page, "account-service-account-create");
        await Confirm(page, "edit-service-account").ClickAsync();

        var row = page.GetByTestId("service-account-row").Filter(new() { HasText = name });
        await ExpectVisibleAsync(page, row, errors, "account-service-account-created");
        var account = Assert.Single(site.Server.Server.Identities.All<ServiceAccountEntry>(SignInServer.Account), a => a.Name == name);
        await Chromium.ScreenshotAsync(page, "account-service-accounts");

        await Chromium.ClickToAsync(page, row.GetByText("API keys"), url => url.EndsWith($"/account/api-keys?owner={account.Id}", StringComparison.Ordinal));
        await ExpectVisibleAsync(page, page.GetByTestId("create-api-key"), errors, "account-api-keys");
        await page.GetByTestId("create-api-key").ClickAsync();
        await page.Locator("#api-key-name").FillAsync("ci key");
        await Confirm(page, "create-api-key").ClickAsync();

        var shown = page.GetByTestId("new-api-key-token");
        await ExpectVisibleAsync(page, shown, errors, "account-api-key-secret");
        var token = (await shown.TextContentAsync())!.Trim();
        Assert.StartsWith("bst_", token, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "account-api-key-secret");

        // Shown, and kept nowhere the browser would keep it: not in the address, not in web storage, not in a cookie.
        Assert.DoesNotContain(token, page.Url, StringComparison.Ordinal);
        var storage = await page.EvaluateAsync<string>("() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie");
        Assert.DoesNotContain(token, storage, StringComparison.Ordinal);
        await Confirm(page, "api-key-secret").ClickAsync();
        await ExpectVisibleAsync(page, page.GetByTestId("api-key-row").Filter(new() { HasText = "ci key" }), errors, "account-api-key-listed");
        Assert.DoesNotContain(token, await page.ContentAsync(), StringComparison.Ordinal);
        await page.ReloadAsync();
        await ExpectVisibleAsync(page, page.GetByTestId("api-key-row").Filter(new() { HasText = "ci key" }), errors, "account-api-key-reloaded");
        Assert.DoesNotContain(token, await page.ContentAsync(), StringComparison.Ordinal);

        // The key works for the SDK, as the service account, on its namespace.
        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{site.Server.Server.Port}")
        {
            Namespace = SignInServer.Namespace,
            ApiKey = token,
            Tls = new TlsOptions { ServerRootCACert = Security.Tls.TestPki.PemBytes(site.Server.ServerCa), Domain = "bastion.test" },
        });
        await client.CountWorkflowsAsync(string.Empty);

        // The audit page shows both creations under the admin's name.
        await page.GotoAsync(Ui + "/account/audit");
        await page.GetByTestId("audit-principal").FillAsync("owner@localhost");
        await page.GetByTestId("audit-apply").ClickAsync();
        var created = page.GetByTestId("audit-row").Filter(new() { HasText = "CreateServiceAccount" }).Filter(new() { HasText = "owner@localhost" });
        await ExpectVisibleAsync(page, created.Filter(new() { HasText = "access_granted" }), errors, "account-audit-creation");
        await ExpectVisibleAsync(page, page.GetByTestId("audit-row").Filter(new() { HasText = "api_key_created" }).Filter(new() { HasText = "owner@localhost" }), errors, "account-audit-creation");
        await ExpectVisibleAsync(page, created.Filter(new() { HasNotText = "access_granted" }).Filter(new() { HasText = "ui" }), errors, "account-audit-creation");
        await Chromium.ScreenshotAsync(page, "account-audit");
    }

    [Fact]
    public async Task AReader_IsOfferedNoChanges_AndTheServerRefusesAForgedOne()
    {
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.ReaderKey, "/account/users");
        await ExpectVisibleAsync(page, page.GetByTestId("users-table").GetByText(SignInServer.ReaderEmail), errors, "account-reader-users");
        Assert.Equal(0, await page.GetByTestId("create-user").CountAsync());
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Delete" }).CountAsync());
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Edit" }).CountAsync());
        await Chromium.ScreenshotAsync(page, "account-reader-users");

        foreach (var (path, button) in new[] { ("/account/namespaces", "create-namespace"), ("/account/service-accounts", "create-service-account"), ("/account/groups", "create-group") })
        {
            await page.GotoAsync(Ui + path);
            await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Heading, new() { Level = 2 }), errors, "account-reader" + path.Replace('/', '-'));
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            Assert.Equal(0, await page.GetByTestId(button).CountAsync());
        }

        await page.GotoAsync(Ui + "/account/namespaces/" + SignInServer.Namespace);
        await ExpectVisibleAsync(page, page.Locator("#codec-endpoint"), errors, "account-reader-namespace");
        Assert.Equal(0, await page.GetByTestId("save-namespace").CountAsync());
        Assert.Equal(0, await page.GetByTestId("delete-namespace").CountAsync());
        Assert.True(await page.Locator("#codec-endpoint").IsDisabledAsync(), "a reader cannot edit the namespace's settings");

        // What a script on the page could send, with the session's CSRF token: the reader may not, so the server says no.
        var body = JsonSerializer.Serialize(new { spec = new { name = "forged-" + site.Run, access = new { accountAccess = new { role = "ROLE_ADMIN" } } } });
        var (status, code, _) = await PageScript.FetchAsync(page, "POST", "/cloud/service-accounts", body);
        Assert.Equal(((int)HttpStatusCode.Forbidden, (int)Grpc.Core.StatusCode.PermissionDenied), (status, code));
        Assert.DoesNotContain(site.Server.Server.Identities.All<ServiceAccountEntry>(SignInServer.Account), a => a.Name == "forged-" + site.Run);
    }

    [Fact]
    public async Task ANamespacesRetentionAndCodecEndpoint_SetInTheUi_AreWhatDescribeNamespaceSays()
    {
        var endpoint = $"https://codec-{site.Run}.acme.test:8081";
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, SignInServer.OwnerKey, "/account/namespaces/" + SignInServer.Namespace);
        var codec = page.Locator("#codec-endpoint");
        await ExpectVisibleAsync(page, codec, errors, "account-namespace");
        await page.Locator("#retention").FillAsync("7");
        await codec.FillAsync(endpoint);
        await page.GetByTestId("save-namespace").ClickAsync();
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Status).GetByText("Saved."), errors, "account-namespace-saved");
        await Chromium.ScreenshotAsync(page, "account-namespace");

        var client = await site.Server.ConnectAsync();
        var described = await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = SignInServer.Namespace });
        Assert.Equal(TimeSpan.FromDays(7), described.Config.WorkflowExecutionRetentionTtl.ToTimeSpan());
        Assert.Equal(endpoint, described.NamespaceInfo.Data["bastion.codec-server.endpoint"]);
    }

    [Fact]
    public async Task TheAuditFilters_NarrowTheList_AndTheExportHoldsWhatIsShown()
    {
        // A refused call by the reader, among the others.
        using (var http = site.Server.NewHttpClient())
        {
            var reader = await UiCookies.SignInAsync(http, site.Server.ReaderKey);
            using var refused = await UiCookies.SendAsync(http, HttpMethod.Post, "/cloud/users", reader, reader.Csrf, """{"spec":{"email":"x@acme.test","access":{"accountAccess":{"role":"ROLE_READ"}}}}""");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, SignInServer.OwnerKey, "/account/audit");
        var rows = page.GetByTestId("audit-row");
        await ExpectVisibleAsync(page, rows.First, errors, "account-audit-all");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        var all = await rows.CountAsync();

        // Applies the filters as set: some records, not all, and (the caller checks) only matching ones.
        async Task<IReadOnlyList<string>> NarrowedAsync(string screenshot)
        {
            await ApplyAsync(page);
            await ExpectVisibleAsync(page, rows.First, errors, screenshot);
            var shown = await rows.AllTextContentsAsync();
            Assert.InRange(shown.Count, 1, all - 1);
            return shown;
        }

        await page.GetByTestId("audit-outcome").SelectOptionAsync("denied");
        Assert.All(await NarrowedAsync("account-audit-denied"), text => Assert.Matches("PERMISSION_DENIED|UNAUTHENTICATED", text));
        Assert.Equal(1, await rows.Filter(new() { HasText = SignInServer.ReaderEmail }).Filter(new() { HasText = "CreateUser" }).CountAsync());

        await page.GetByTestId("audit-outcome").SelectOptionAsync(string.Empty);
        await page.GetByTestId("audit-namespace").FillAsync(SignInServer.Namespace);
        Assert.All(await NarrowedAsync("account-audit-namespace"), text => Assert.Contains(SignInServer.Namespace, text, StringComparison.Ordinal));

        await page.GetByTestId("audit-namespace").FillAsync(string.Empty);
        await page.GetByTestId("audit-principal").FillAsync(SignInServer.ReaderEmail);
        var byReader = await NarrowedAsync("account-audit-principal");
        Assert.All(byReader, text => Assert.Contains(SignInServer.ReaderEmail, text, StringComparison.Ordinal));
        await Chromium.ScreenshotAsync(page, "account-audit-filtered");

        // The export is the shown records, one JSON object a line, as GetAuditLogs gave them.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("audit-export").ClickAsync());
        Assert.EndsWith(".jsonl", download.SuggestedFilename, StringComparison.Ordinal);
        var lines = (await File.ReadAllLinesAsync((await download.PathAsync())!)).Where(l => l.Length > 0).ToList();
        Assert.Equal(byReader.Count, lines.Count);
        Assert.All(lines, line =>
        {
            using var record = JsonDocument.Parse(line);
            Assert.Equal(SignInServer.ReaderEmail, record.RootElement.GetProperty("principal").GetProperty("name").GetString());
            Assert.True(record.RootElement.TryGetProperty("prev_hash", out _), "a stored record, with its place in the chain");
        });
    }

    [Fact]
    public async Task AnAdmin_AddsAUserAndAGroup_WithAMember_AndTheUserHasTheGroupsPermission()
    {
        var email = $"new-{site.Run}@acme.test";
        var group = "payments-" + site.Run;
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, SignInServer.OwnerKey, "/account/users");
        await ExpectVisibleAsync(page, page.GetByTestId("create-user"), errors, "account-users");
        await page.GetByTestId("create-user").ClickAsync();
        await page.Locator("#user-email").FillAsync(email);
        await page.Locator("#user-access-role").SelectOptionAsync("developer");
        await Confirm(page, "edit-user").ClickAsync();
        await ExpectVisibleAsync(page, page.GetByTestId("users-table").GetByText(email), errors, "account-user-added");
        var user = Assert.Single(site.Server.Server.Identities.All<UserEntry>(SignInServer.Account), u => u.Email == email);
        Assert.Equal(AccountRole.Developer, user.Role);

        await page.GotoAsync(Ui + "/account/groups");
        await ExpectVisibleAsync(page, page.GetByTestId("create-group"), errors, "account-groups");
        await page.GetByTestId("create-group").ClickAsync();
        await page.Locator("#group-name").FillAsync(group);
        await page.GetByText("Add a namespace permission").ClickAsync();
        var grant = page.GetByTestId("group-access-grant");
        await grant.GetByLabel("Namespace").SelectOptionAsync(SignInServer.Namespace);
        await grant.GetByLabel("Permission").SelectOptionAsync("write");
        await Confirm(page, "edit-group").ClickAsync();
        var row = page.GetByTestId("groups-table").Locator("tr").Filter(new() { HasText = group });
        await ExpectVisibleAsync(page, row.GetByText($"{SignInServer.Namespace}=write"), errors, "account-group-created");

        await row.GetByRole(AriaRole.Button, new() { Name = "Members" }).ClickAsync();
        await page.GetByLabel("User to add").SelectOptionAsync(user.Id);
        await page.Locator("#group-members").GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await ExpectVisibleAsync(page, page.Locator("#group-members").GetByText(email), errors, "account-group-member");
        await Chromium.ScreenshotAsync(page, "account-group-members");

        var stored = Assert.Single(site.Server.Server.Identities.All<UserGroupEntry>(SignInServer.Account), g => g.DisplayName == group);
        Assert.Equal([user.Id], stored.Members.Keys);
        var ns = Assert.Single(site.Server.Server.Namespaces.All, n => n.FullName == SignInServer.Namespace);
        Assert.Equal(Permission.NamespaceWrite, stored.NamespaceAccess[ns.Id]);
    }

    [Fact]
    public async Task OperatorAccess_ShowsAGrant_ItsReason_ItsCalls_AndItsRevocation()
    {
        var ns = Assert.Single(site.Server.Server.Namespaces.All, n => n.FullName == SignInServer.Namespace);
        var reason = $"INC-{site.Run}: stuck workflows";
        var (grant, token) = await site.Server.Server.Identities.GrantOperatorAsync(ns, "alice-ops", reason, TimeSpan.FromHours(2), Permission.NamespaceRead);
        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{site.Server.Server.Port}")
        {
            Namespace = SignInServer.Namespace,
            ApiKey = token,
            Tls = new TlsOptions { ServerRootCACert = Security.Tls.TestPki.PemBytes(site.Server.ServerCa), Domain = "bastion.test" },
        });
        await client.CountWorkflowsAsync(string.Empty);

        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, SignInServer.OwnerKey, "/account/operator-access");
        var row = page.GetByTestId("operator-grant-row").Filter(new() { HasText = reason });
        await ExpectVisibleAsync(page, row, errors, "account-operator-access");
        var text = await row.TextContentAsync();
        Assert.Contains("alice-ops", text, StringComparison.Ordinal);
        Assert.Contains("active", text, StringComparison.Ordinal);
        // The SDK's calls with the grant's key (its connection's GetSystemInfo and the count), none refused.
        var calls = System.Text.RegularExpressions.Regex.Match(text!, @"(\d+) \((\d+)\)$");
        Assert.True(calls.Success && int.Parse(calls.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1 && calls.Groups[2].Value == "0", text);
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).CountAsync()); // read-only: operators grant on the database
        await Chromium.ScreenshotAsync(page, "account-operator-access");

        await site.Server.Server.Identities.RevokeOperatorGrantAsync(grant.Id);
        await page.ReloadAsync();
        await ExpectVisibleAsync(page, row.GetByText("revoked"), errors, "account-operator-revoked");
    }

    /// <summary>Applies the filters and waits for the list they asked for.</summary>
    private static async Task ApplyAsync(IPage page)
    {
        await page.RunAndWaitForResponseAsync(() => page.GetByTestId("audit-apply").ClickAsync(), r => r.Url.Contains("/cloud/audit-logs", StringComparison.Ordinal));
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }

    private static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot) =>
        Chromium.ExpectVisibleAsync(page, locator, errors, screenshot, s_wait);
}
