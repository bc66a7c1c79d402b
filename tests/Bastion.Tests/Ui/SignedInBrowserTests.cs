using System.Net;
using Microsoft.Playwright;
using Temporalio.Api.Enums.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Ui;

/// <summary>
/// The web UI under <c>server start</c> in a real browser: TLS with the server certificate, sign-in with an API key,
/// the workflows the SDK ran, a terminate from the UI (audited as the user, via the UI), a reader's view and the
/// server's refusal of a reader's forged write, and sign-out. Screenshots go to the test output's <c>screenshots/</c>.
/// </summary>
public sealed class SignedInBrowserTests(SignedInBrowserTests.Site site) : IClassFixture<SignedInBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>The server, the workflows the SDK ran on it and chromium, shared by the class's tests.</summary>
    public sealed class Site : IAsyncLifetime
    {
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];
        private Chromium? _browser;

        internal SignInServer Server { get; } = new();

        public TemporalClient Client { get; private set; } = null!;

        public string Completed => $"done-{_run}";

        public Task<(IPage Page, List<string> Errors)> NewPageAsync() => _browser!.NewPageAsync(trustAnyCertificate: true);

        public async Task InitializeAsync()
        {
            _browser = await Chromium.LaunchAsync();
            await Server.StartAsync();
            Client = await Server.ConnectAsync();
            var taskQueue = "ui-signed-in-" + _run;
            using var worker = new TemporalWorker(Client, new TemporalWorkerOptions(taskQueue).AddWorkflow<DoubleWorkflow>());
            await worker.ExecuteAsync(() => Client.ExecuteWorkflowAsync((DoubleWorkflow wf) => wf.RunAsync(21), new(Completed, taskQueue)));
        }

        /// <summary>A workflow that stays running: its task queue has no worker.</summary>
        public async Task<WorkflowHandle> StartRunningAsync(string prefix)
        {
            var id = $"{prefix}-{_run}";
            return await Client.StartWorkflowAsync("Waiting", [], new(id, "no-worker-" + id));
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

    [Workflow]
    public sealed class DoubleWorkflow
    {
        [WorkflowRun]
        public Task<int> RunAsync(int count) => Task.FromResult(count * 2);
    }

    private string Ui => site.Server.Url;

    private static string Workflows => $"/namespaces/{SignInServer.Namespace}/workflows";

    /// <summary><see cref="Chromium.SignInAsync"/> on this class's server.</summary>
    private Task SignInAsync(IPage page, List<string> errors, string apiKey, string path, string screenshot) =>
        Chromium.SignInAsync(page, errors, Ui, apiKey, path, screenshot, s_wait);

    [Fact]
    public async Task SigningIn_ShowsTheWorkflowsTheSdkRan()
    {
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.WriterKey, Workflows, "sign-in");
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = site.Completed, Exact = true }), errors, "signed-in-workflow-list");
        await ExpectVisibleAsync(page, page.GetByTestId("signed-in-as").GetByText(SignInServer.WriterEmail), errors, "signed-in-workflow-list");
        await Chromium.ScreenshotAsync(page, "signed-in-workflow-list");
    }

    [Fact]
    public async Task ABadKey_StaysOnTheSignInPage_SayingWhy()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync(Ui + Workflows);
        await Chromium.WaitForAddressAsync(page, Chromium.AtSignIn, s_wait);
        await page.GetByLabel("API key").FillAsync("bst_aaaaaaaaaaaaaaaa_not-a-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Alert).GetByText("not valid"), errors, "sign-in-refused");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "sign-in-refused");
    }

    [Fact]
    public async Task TerminatingFromTheUi_TerminatesTheWorkflow_AndTheAuditLogNamesTheUser_ViaUi()
    {
        var handle = await site.StartRunningAsync("terminate");
        var (page, errors) = await site.NewPageAsync();
        var path = $"{Workflows}/{handle.Id}/{handle.ResultRunId}/history";
        await SignInAsync(page, errors, site.Server.WriterKey, path, "terminate-sign-in");
        var actions = page.Locator("#workflow-actions-menu-button:visible");
        await ExpectVisibleAsync(page, actions, errors, "terminate");
        await actions.ClickAsync();
        // The page holds the actions twice (wide and narrow layouts): the visible ones are the user's.
        await page.Locator("[data-testid=terminate-button]:visible").ClickAsync();
        await page.Locator("#workflow-termination-reason:visible").FillAsync("stopped from the UI");
        await Chromium.ScreenshotAsync(page, "terminate");
        await page.Locator("[data-testid=terminate-confirmation-modal] [data-testid=confirm-modal-button]:visible").ClickAsync();

        Assert.True(
            await Eventually.HoldsAsync(async () => (await handle.DescribeAsync()).Status == WorkflowExecutionStatus.Terminated, s_wait),
            "the workflow is terminated");
        await ExpectVisibleAsync(page, page.GetByText("Terminated").First, errors, "terminated");
        await Chromium.ScreenshotAsync(page, "terminated");

        var record = Assert.Single(site.Server.Audit.Records, r =>
            r.Operation.EndsWith("/TerminateWorkflowExecution", StringComparison.Ordinal) && r.Details.Values.Contains(handle.Id));
        Assert.Equal(("User", SignInServer.WriterEmail, "ui", 0), (record.PrincipalType, record.PrincipalName, record.Via, record.Status));
    }

    [Fact]
    public async Task AReader_IsOfferedNoWriteActions_AndTheServerRefusesAForgedWriteAnyway()
    {
        var handle = await site.StartRunningAsync("read-only");
        var (page, errors) = await site.NewPageAsync();
        var path = $"{Workflows}/{handle.Id}/{handle.ResultRunId}/history";
        await SignInAsync(page, errors, site.Server.ReaderKey, path, "reader-sign-in");
        await ExpectVisibleAsync(page, page.GetByText(handle.Id).First, errors, "reader-workflow");
        await ExpectVisibleAsync(page, page.Locator("#workflow-actions-primary-button:visible"), errors, "reader-workflow");
        Assert.True(await page.Locator("#workflow-actions-primary-button:visible").IsDisabledAsync(), "Request Cancellation is not offered to a reader");
        Assert.True(await page.Locator("#workflow-actions-menu-button:visible").IsDisabledAsync(), "nor terminate, signal or reset");
        await Chromium.ScreenshotAsync(page, "reader-workflow");

        // What a script on the page could send: without the CSRF token, with a wrong one, and with the right one.
        var terminate = $"/api/v1/namespaces/{SignInServer.Namespace}/workflows/{handle.Id}/terminate";
        var body = """{"reason":"forged"}""";
        foreach (var (token, why) in new (string?, string)[] { (null, "CSRF"), ("forged-token", "CSRF"), (PageScript.SessionToken, "lacks") })
        {
            var (status, _, message) = await PageScript.FetchAsync(page, "POST", terminate, body, token);
            Assert.Equal((int)HttpStatusCode.Forbidden, status);
            Assert.Contains(why, message, StringComparison.Ordinal);
        }

        Assert.Equal(WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);
        var refused = site.Server.Audit.Records.Where(r => r.Operation.EndsWith("/TerminateWorkflowExecution", StringComparison.Ordinal) && r.Details.Values.Contains(handle.Id)).ToList();
        var denied = Assert.Single(refused);
        Assert.Equal((SignInServer.ReaderEmail, "ui", (int)Grpc.Core.StatusCode.PermissionDenied), (denied.PrincipalName, denied.Via, denied.Status));
    }

    [Fact]
    public async Task SigningOut_EndsTheSession_TheOldCookieNoLongerWorks()
    {
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.WriterKey, Workflows, "sign-out-sign-in");
        var signOut = page.GetByTestId("sign-out");
        await ExpectVisibleAsync(page, signOut, errors, "sign-out");
        var session = (await page.Context.CookiesAsync()).Single(c => c.Name == "__Host-bastion-session");
        Assert.True(session.HttpOnly && session.Secure && session.SameSite == SameSiteAttribute.Strict, "the session cookie is HttpOnly, Secure and SameSite=Strict");
        await signOut.ClickAsync();
        await Chromium.WaitForAddressAsync(page, url => url.Contains("/login", StringComparison.Ordinal), s_wait);
        await Chromium.ScreenshotAsync(page, "signed-out");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "__Host-bastion-session");

        // The old cookie, replayed: the server ended the session, so it is worth nothing.
        using var http = site.Server.NewHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/v1/namespaces/{SignInServer.Namespace}/workflows", UriKind.Relative));
        request.Headers.Add("Cookie", $"{session.Name}={session.Value}");
        using var replayed = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);

        await page.GotoAsync(Ui + Workflows);
        await Chromium.WaitForAddressAsync(page, Chromium.AtSignIn, s_wait);
    }

    private static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot) =>
        Chromium.ExpectVisibleAsync(page, locator, errors, screenshot, s_wait);
}
