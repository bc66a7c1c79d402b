using Bastion.Tests.Integration;
using Microsoft.Playwright;
using Temporalio.Activities;
using Temporalio.Workflows;

namespace Bastion.Tests.Ui;

/// <summary>
/// Temporal's UI as Bastion serves it, in a real browser: the real <c>bastion server start-dev</c> with a SQLite file
/// and a UI port, workflows run by the official SDK, and chromium reading the pages. Screenshots go to the test
/// output's <c>screenshots/</c>.
/// </summary>
public sealed class WorkflowPagesBrowserTests(WorkflowPagesBrowserTests.Site site) : IClassFixture<WorkflowPagesBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    private string Ui => site.Url;

    private string Tally => site.Tally;

    private string Greeting(string name) => site.Greeting(name);

    /// <summary>
    /// The server (real executable, SQLite file, UI port), the workflows the SDK ran on it, and chromium, shared by
    /// the class's tests: each is costly on a small machine.
    /// </summary>
    public sealed class Site : IAsyncLifetime
    {
        private static readonly string[] s_names = ["alice", "bob"];
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];
        private DirectoryInfo? _directory;
        private ServerProcess? _server;
        private Chromium? _browser;

        /// <summary>The UI's origin, e.g. <c>http://127.0.0.1:8233</c>.</summary>
        public string Url { get; private set; } = string.Empty;

        public string Tally => $"tally-{_run}";

        public string Waiting => $"waiting-{_run}";

        public string Greeting(string name) => $"greet-{name}-{_run}";

        public Task<(IPage Page, List<string> Errors)> NewPageAsync() => _browser!.NewPageAsync();

        public async Task InitializeAsync()
        {
            _browser = await Chromium.LaunchAsync(); // first: without chromium the tests fail here, saying so
            _directory = Directory.CreateTempSubdirectory("bastion-ui-");
            var uiPort = ServerProcess.FreePort();
            var port = ServerProcess.FreePort();
            _server = await ServerProcess.StartAsync(port, Path.Combine(_directory.FullName, "bastion.db"), uiPort: uiPort);
            Url = $"http://127.0.0.1:{uiPort}";
            Assert.True(await _server.PrintedAsync(line => line.Contains("Web UI:", StringComparison.Ordinal) && line.Contains(Url, StringComparison.Ordinal)), "start-dev prints the UI's URL");

            var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{port}") { Namespace = "default" });
            var taskQueue = "ui-" + _run;
            using var worker = new TemporalWorker(
                client,
                new TemporalWorkerOptions(taskQueue).AddWorkflow<GreetingWorkflow>().AddWorkflow<TallyWorkflow>().AddWorkflow<WaitingWorkflow>().AddAllActivities(new GreetingActivities()));
            await worker.ExecuteAsync(async () =>
            {
                foreach (var name in s_names)
                {
                    await client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync(name), new(Greeting(name), taskQueue));
                }

                await client.ExecuteWorkflowAsync((TallyWorkflow wf) => wf.RunAsync(21), new(Tally, taskQueue));

                // Its activity goes to a task queue no worker polls: it stays pending after this worker stops.
                await client.StartWorkflowAsync((WaitingWorkflow wf) => wf.RunAsync("nobody-" + _run), new(Waiting, taskQueue));
                var describe = new Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionRequest { Namespace = "default", Execution = new() { WorkflowId = Waiting } };
                for (var i = 0; i < 600 && (await client.WorkflowService.DescribeWorkflowExecutionAsync(describe)).PendingActivities.Count == 0; i++)
                {
                    await Task.Delay(100);
                }
            });
        }

        public async Task DisposeAsync()
        {
            if (_browser != null)
            {
                await _browser.DisposeAsync();
            }

            _server?.Dispose();
            _directory?.Delete(recursive: true);
        }
    }

    [Workflow]
    public sealed class GreetingWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string name) =>
            Workflow.ExecuteActivityAsync((GreetingActivities a) => a.GreetAsync(name), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
    }

    [Workflow]
    public sealed class TallyWorkflow
    {
        [WorkflowRun]
        public Task<int> RunAsync(int count) => Task.FromResult(count * 2);
    }

    [Workflow]
    public sealed class WaitingWorkflow
    {
        [WorkflowRun]
        public Task RunAsync(string taskQueue) =>
            Workflow.ExecuteActivityAsync(
                (GreetingActivities a) => a.NeverRunsAsync(),
                new() { TaskQueue = taskQueue, StartToCloseTimeout = TimeSpan.FromMinutes(1), ScheduleToCloseTimeout = TimeSpan.FromHours(1) });
    }

    public sealed class GreetingActivities
    {
        [Activity("never-runs")]
        public Task NeverRunsAsync() => Task.CompletedTask;

        [Activity]
        public Task<string> GreetAsync(string name) => Task.FromResult($"Hello, {name}!");
    }

    [Fact]
    public async Task TheWorkflowList_ShowsTheWorkflows_AndFiltersByAQuery()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync($"{Ui}/namespaces/default/workflows");
        foreach (var id in new[] { Greeting("alice"), Greeting("bob"), Tally })
        {
            await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true }), errors, "workflow-list");
        }

        await Chromium.ScreenshotAsync(page, "workflow-list");

        // The query the filter bar writes into the address, as a user typing it there would.
        var query = Uri.EscapeDataString("WorkflowType = \"TallyWorkflow\"");
        await page.GotoAsync($"{Ui}/namespaces/default/workflows?query={query}");
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = Tally, Exact = true }), errors, "workflow-list-filtered");
        Assert.Equal(0, await page.GetByRole(AriaRole.Link, new() { Name = Greeting("alice"), Exact = true }).CountAsync());
        Assert.Equal(0, await page.GetByRole(AriaRole.Link, new() { Name = Greeting("bob"), Exact = true }).CountAsync());
        await Chromium.ScreenshotAsync(page, "workflow-list-filtered");
    }

    /// <summary>
    /// The list's first paint (docs/ui.md, "Numbers"): its API calls are started by the page itself, not by the app's
    /// code once it has run, each once (the app's own calls take those answers), and the list loads only its own code:
    /// a workflow's page then needs a file the list never asked for.
    /// </summary>
    [Fact]
    public async Task TheWorkflowList_AsksForItsRowsWithThePage_OnceEach_AndLoadsOnlyItsOwnCode()
    {
        var (page, errors) = await site.NewPageAsync();
        var requests = new List<(string Path, bool ByAppCode)>();
        var cdp = await page.Context.NewCDPSessionAsync(page);
        cdp.Event("Network.requestWillBeSent").OnEvent += (_, sent) =>
        {
            var url = new Uri(sent!.Value.GetProperty("request").GetProperty("url").GetString()!);
            // Called from the bundle's code, or from the page's own script (index.html) alone.
            var byAppCode = sent.Value.GetProperty("initiator").TryGetProperty("stack", out var stack)
                && stack.GetProperty("callFrames").EnumerateArray().Any(f => f.GetProperty("url").GetString()!.Contains("/_app/", StringComparison.Ordinal));
            lock (requests)
            {
                requests.Add((url.PathAndQuery.TrimEnd('?'), byAppCode));
            }
        };
        await cdp.SendAsync("Network.enable");
        await page.GotoAsync($"{Ui}/namespaces/default/workflows");
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = Tally, Exact = true }), errors, "workflow-list-early");
        (string Path, bool ByAppCode)[] listed;
        lock (requests)
        {
            listed = [.. requests];
        }

        var all = string.Join('\n', listed);
        string[] early = ["/api/v1/settings", "/api/v1/cluster-info", "/api/v1/system-info", "/api/v1/namespaces", "/api/v1/namespaces/default", "/api/v1/namespaces/default/search-attributes", "/api/v1/namespaces/default/workflows?pageSize=100&nextPageToken="];
        foreach (var call in early)
        {
            var made = listed.Where(r => r.Path == call).ToList();
            Assert.True(made.Count == 1 && !made[0].ByAppCode, $"{call}: once, started by the page:\n{all}");
        }

        var listCode = listed.Select(r => r.Path).Where(r => r.EndsWith(".js", StringComparison.Ordinal)).ToHashSet();
        await Chromium.ClickToAsync(page, page.GetByRole(AriaRole.Link, new() { Name = Tally, Exact = true }), url => url.EndsWith("/history", StringComparison.Ordinal));
        await ExpectVisibleAsync(page, page.GetByText("TallyWorkflow").First, errors, "workflow-history-after-list");
        lock (requests)
        {
            Assert.Contains(requests, r => r.Path.StartsWith("/_app/immutable/", StringComparison.Ordinal) && r.Path.EndsWith(".js", StringComparison.Ordinal) && !listCode.Contains(r.Path));
        }
    }

    [Fact]
    public async Task AWorkflowsPage_ShowsItsHistory_InputAndResult()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync($"{Ui}/namespaces/default/workflows/{Greeting("alice")}");
        await Chromium.WaitForAddressAsync(page, url => url.EndsWith("/history", StringComparison.Ordinal), s_wait);
        await ExpectVisibleAsync(page, page.GetByText("\"Hello, alice!\"").First, errors, "workflow-history");
        await ExpectVisibleAsync(page, page.GetByText("\"alice\"").First, errors, "workflow-history");
        await ExpectVisibleAsync(page, page.GetByText("GreetingWorkflow").First, errors, "workflow-history");
        await ExpectVisibleAsync(page, page.GetByText("Activity Task Completed").First, errors, "workflow-history");
        await ExpectVisibleAsync(page, page.GetByText("Workflow Execution Completed").First, errors, "workflow-history");
        await Chromium.ScreenshotAsync(page, "workflow-history");
    }

    [Fact]
    public async Task ARunningWorkflowsPage_ShowsItsPendingActivity()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync($"{Ui}/namespaces/default/workflows/{site.Waiting}");
        await Chromium.WaitForAddressAsync(page, url => url.EndsWith("/history", StringComparison.Ordinal), s_wait);
        var tab = page.GetByText("Pending Activities").First; // the run header's tab
        await ExpectVisibleAsync(page, tab, errors, "workflow-pending-activities");
        await Chromium.ClickToAsync(page, tab, url => url.EndsWith("/pending-activities", StringComparison.Ordinal));
        await ExpectVisibleAsync(page, page.GetByText("never-runs").First, errors, "workflow-pending-activities");
        await ExpectVisibleAsync(page, page.GetByText("Running").First, errors, "workflow-pending-activities");
        await Chromium.ScreenshotAsync(page, "workflow-pending-activities");
    }

    [Fact]
    public async Task TheNamespacesPage_ListsDefault()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync($"{Ui}/namespaces");
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "default", Exact = true }), errors, "namespaces");
        await Chromium.ScreenshotAsync(page, "namespaces");
    }

    [Fact]
    public async Task TheAccountPages_InStartDev_ShowTheLocalAccount_ToItsOwner_TheLocalCaller()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync($"{Ui}/account");
        await Chromium.WaitForAddressAsync(page, url => url.EndsWith("/account/namespaces", StringComparison.Ordinal), s_wait);
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "default.local", Exact = true }), errors, "account-start-dev");
        await ExpectVisibleAsync(page, page.GetByTestId("create-namespace"), errors, "account-start-dev");
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log", Exact = true }).First.ClickAsync();
        await ExpectVisibleAsync(page, page.GetByTestId("audit-row").Filter(new() { HasText = "GetNamespaces" }).First, errors, "account-start-dev-audit");
        await Chromium.ScreenshotAsync(page, "account-start-dev-audit");
    }

    private static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot) =>
        Chromium.ExpectVisibleAsync(page, locator, errors, screenshot, s_wait);
}
