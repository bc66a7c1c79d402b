using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using Temporalio.Api.Enums.V1;
using Temporalio.Client.Schedules;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Ui;

/// <summary>
/// A namespace's pages besides its workflows, as Temporal's UI links them, in a real browser under <c>server start</c>:
/// schedules (list, a schedule's page, create, edit, pause, trigger, delete), batch operations (list and one), a task
/// queue's pollers, and start-workflow; each checked against what the SDK sees. A reader is offered none of their
/// writes, and the server refuses them when forged from the page anyway.
/// </summary>
public sealed class NamespacePagesBrowserTests(NamespacePagesBrowserTests.Site site) : IClassFixture<NamespacePagesBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>The server, the writer's SDK client and chromium, shared by the class's tests.</summary>
    public sealed class Site : IAsyncLifetime
    {
        private Chromium? _browser;

        internal SignInServer Server { get; } = new();

        public TemporalClient Client { get; private set; } = null!;

        public string Run { get; } = Guid.NewGuid().ToString("N")[..8];

        public Task<(IPage Page, List<string> Errors)> NewPageAsync() => _browser!.NewPageAsync(trustAnyCertificate: true);

        public async Task InitializeAsync()
        {
            _browser = await Chromium.LaunchAsync();
            await Server.StartAsync();
            Client = await Server.ConnectAsync();
        }

        /// <summary>A schedule the SDK creates: every hour, starting <c>Nightly</c> on a queue no worker polls.</summary>
        public Task<ScheduleHandle> CreateScheduleAsync(string prefix) => Client.CreateScheduleAsync(
            $"{prefix}-{Run}",
            new Schedule(
                ScheduleActionStartWorkflow.Create("Nightly", Array.Empty<object?>(), new($"{prefix}-run-{Run}", "no-worker-" + Run)),
                new ScheduleSpec { Intervals = [new ScheduleIntervalSpec(TimeSpan.FromHours(1))] }));

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
    public sealed class EchoWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string text) => Task.FromResult(text);
    }

    private string Ui => site.Server.Url;

    private static string Namespace => $"/namespaces/{SignInServer.Namespace}";

    /// <summary><see cref="Chromium.SignInAsync"/> on this class's server.</summary>
    private Task SignInAsync(IPage page, List<string> errors, string apiKey, string path) =>
        Chromium.SignInAsync(page, errors, Ui, apiKey, path, "namespace-pages-sign-in", s_wait);

    private static ILocator Confirm(IPage page, string modal) => page.Locator($"#{modal} [data-testid=confirm-modal-button]");

    [Fact]
    public async Task AScheduleTheSdkCreated_IsListedAndShown_AndPausingTriggeringAndDeletingItInTheUi_IsWhatTheSdkSees()
    {
        var handle = await site.CreateScheduleAsync("ui-schedule");
        var (page, errors) = await site.NewPageAsync();
        // The list filtered to it: its row, and the count (CountSchedules: the package's own count asks for workflows
        // in Temporal's scheduler division, which Bastion's schedules are not, and would say 0).
        var filtered = $"{Namespace}/schedules?query={Uri.EscapeDataString($"ScheduleId=\"{handle.Id}\"")}";
        await SignInAsync(page, errors, site.Server.WriterKey, filtered);
        var link = page.GetByRole(AriaRole.Link, new() { Name = handle.Id, Exact = true });
        await ExpectVisibleAsync(page, link, errors, "schedules-list");
        await ExpectVisibleAsync(page, page.GetByTestId("schedules-count").GetByText("1 Schedule", new() { Exact = true }), errors, "schedules-list");
        await Chromium.ScreenshotAsync(page, "schedules-list");

        await Chromium.ClickToAsync(page, link, url => url.EndsWith($"{Namespace}/schedules/{handle.Id}", StringComparison.Ordinal));
        await ExpectVisibleAsync(page, page.GetByText("Nightly").First, errors, "schedule");
        await ExpectVisibleAsync(page, page.GetByText("Upcoming Runs").First, errors, "schedule");
        await Chromium.ScreenshotAsync(page, "schedule");

        // Pause, with the reason the dialog asks for.
        await page.Locator("#schedule-actions-primary-button").ClickAsync();
        await page.Locator("#pause-reason").FillAsync("paused from the UI");
        await Confirm(page, "pause-schedule-modal").ClickAsync();
        Assert.True(
            await Eventually.HoldsAsync(async () => (await handle.DescribeAsync()).Schedule.State.Paused, s_wait),
            "the schedule is paused");
        Assert.Equal("paused from the UI", (await handle.DescribeAsync()).Schedule.State.Note);
        await ExpectVisibleAsync(page, page.Locator("#schedule-actions-primary-button").GetByText("Unpause"), errors, "schedule-paused");

        // Trigger now: the schedule takes an action (a paused schedule still runs a trigger, as in Temporal).
        await page.Locator("#schedule-actions-menu-button").ClickAsync();
        await page.GetByTestId("trigger-schedule").ClickAsync();
        await Confirm(page, "trigger-schedule-modal").ClickAsync();
        Assert.True(
            await Eventually.HoldsAsync(async () => (await handle.DescribeAsync()).Info.NumActions == 1, s_wait),
            "the trigger started the schedule's workflow");

        // Delete: the page goes back to the list, and the schedule is gone.
        await page.Locator("#schedule-actions-menu-button").ClickAsync();
        await page.GetByTestId("delete-schedule").ClickAsync();
        await Confirm(page, "delete-schedule-modal").ClickAsync();
        await Chromium.WaitForAddressAsync(page, url => new Uri(url).AbsolutePath == $"{Namespace}/schedules", s_wait);
        var gone = await Assert.ThrowsAsync<RpcException>(() => handle.DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
    }

    [Fact]
    public async Task AScheduleCreatedInTheUi_IsWhatTheSdkDescribes_AndEditingItChangesIt()
    {
        var id = "ui-made-" + site.Run;
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.WriterKey, $"{Namespace}/schedules");
        var create = page.GetByTestId("create-schedule").First;
        await ExpectVisibleAsync(page, create, errors, "schedule-create");
        await Chromium.ClickToAsync(page, create, url => url.EndsWith($"{Namespace}/schedules/create", StringComparison.Ordinal));
        await page.Locator("#name").FillAsync(id);
        await page.Locator("#workflowType").FillAsync("Nightly");
        await page.Locator("#workflowId").FillAsync("made-in-ui-" + site.Run);
        await page.Locator("#taskQueue").FillAsync("no-worker-" + site.Run);
        await page.Locator("#hour-interval").FillAsync("2"); // every two hours
        await Chromium.ScreenshotAsync(page, "schedule-create");
        await page.GetByTestId("create-schedule-button").ClickAsync();

        var handle = site.Client.GetScheduleHandle(id);
        Assert.True(await Eventually.HoldsAsync(async () => await DescribedAsync(handle) != null, s_wait), "the schedule the UI created exists");
        var described = (await DescribedAsync(handle))!;
        var action = Assert.IsType<ScheduleActionStartWorkflow>(described.Schedule.Action);
        Assert.Equal(("Nightly", "made-in-ui-" + site.Run, "no-worker-" + site.Run), (action.Workflow, action.Options.Id, action.Options.TaskQueue));
        Assert.Equal(TimeSpan.FromHours(2), Assert.Single(described.Schedule.Spec.Intervals).Every);

        await page.GotoAsync($"{Ui}{Namespace}/schedules/{id}/edit");
        var type = page.Locator("#workflowType");
        await ExpectVisibleAsync(page, type, errors, "schedule-edit");
        await type.FillAsync("Weekly");
        await page.GetByTestId("create-schedule-button").ClickAsync();
        Assert.True(
            await Eventually.HoldsAsync(async () => ((ScheduleActionStartWorkflow)(await handle.DescribeAsync()).Schedule.Action).Workflow == "Weekly", s_wait),
            "the edit changed the schedule's workflow type");
        await handle.DeleteAsync();
    }

    [Fact]
    public async Task ABatchTerminateStartedOverGrpc_IsListed_AndItsPageShowsIt()
    {
        var jobId = "ui-batch-" + site.Run;
        var type = "BatchTarget" + site.Run;
        var handles = new List<WorkflowHandle>();
        for (var i = 0; i < 2; i++)
        {
            handles.Add(await site.Client.StartWorkflowAsync(type, [], new($"batch-target-{i}-{site.Run}", "no-worker-" + site.Run)));
        }

        Assert.True(await Eventually.HoldsAsync(async () => await site.Client.CountWorkflowsAsync($"WorkflowType = '{type}'") is { Count: 2 }, s_wait), "both targets are visible");
        await site.Client.WorkflowService.StartBatchOperationAsync(new()
        {
            Namespace = SignInServer.Namespace,
            JobId = jobId,
            Reason = "cleanup from the SDK",
            VisibilityQuery = $"WorkflowType = '{type}'",
            TerminationOperation = new() { Identity = "batch-tester" },
        });
        foreach (var handle in handles)
        {
            Assert.True(
                await Eventually.HoldsAsync(async () => (await handle.DescribeAsync()).Status == WorkflowExecutionStatus.Terminated, s_wait),
                "the batch terminated " + handle.Id);
        }

        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.WriterKey, $"{Namespace}/batch-operations");
        var link = page.GetByRole(AriaRole.Link, new() { Name = jobId, Exact = true });
        await ExpectVisibleAsync(page, link, errors, "batch-operations");
        await Chromium.ScreenshotAsync(page, "batch-operations");
        await Chromium.ClickToAsync(page, link, url => url.EndsWith($"{Namespace}/batch-operations/{jobId}", StringComparison.Ordinal));
        await ExpectVisibleAsync(page, page.GetByText("cleanup from the SDK"), errors, "batch-operation");
        await ExpectVisibleAsync(page, page.GetByText("Terminate", new() { Exact = true }), errors, "batch-operation");
        await ExpectVisibleAsync(page, page.GetByText("2 succeeded"), errors, "batch-operation");
        await Chromium.ScreenshotAsync(page, "batch-operation");
    }

    [Fact]
    public async Task ATaskQueuesPage_ShowsARunningWorkersPoller()
    {
        var taskQueue = "ui-pollers-" + site.Run;
        var (page, errors) = await site.NewPageAsync();
        using var worker = new TemporalWorker(site.Client, new TemporalWorkerOptions(taskQueue) { Identity = "ui-worker@" + site.Run }.AddWorkflow<EchoWorkflow>());
        await worker.ExecuteAsync(async () =>
        {
            // The worker's first poll reaches the server before the page asks who polls.
            var describe = new Temporalio.Api.WorkflowService.V1.DescribeTaskQueueRequest { Namespace = SignInServer.Namespace, TaskQueue = new() { Name = taskQueue } };
            Assert.True(
                await Eventually.HoldsAsync(async () => (await site.Client.WorkflowService.DescribeTaskQueueAsync(describe)).Pollers.Count > 0, s_wait),
                "the worker polls");
            await SignInAsync(page, errors, site.Server.WriterKey, $"{Namespace}/task-queues/{taskQueue}");
            await ExpectVisibleAsync(page, page.GetByTestId("worker-identity").GetByText("ui-worker@" + site.Run), errors, "task-queue");
            await Chromium.ScreenshotAsync(page, "task-queue");
        });
    }

    [Fact]
    public async Task StartingAWorkflowInTheUi_StartsOneTheSdkSees_WithItsInput()
    {
        var id = "ui-started-" + site.Run;
        var taskQueue = "ui-start-" + site.Run;
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.WriterKey, $"{Namespace}/workflows");
        // The list offers it (StartWorkflowDisabled is off), and it opens the page.
        var offered = page.GetByRole(AriaRole.Button, new() { Name = "Start Workflow" }).First;
        await ExpectVisibleAsync(page, offered, errors, "start-workflow");
        await Chromium.ClickToAsync(page, offered, url => url.Contains($"{Namespace}/workflows/start-workflow", StringComparison.Ordinal));
        await page.Locator("#workflowId").FillAsync(id);
        await page.Locator("#taskQueue").FillAsync(taskQueue);
        await page.Locator("#workflowType").FillAsync("EchoWorkflow");
        var input = page.Locator(".cm-content").First;
        await ExpectVisibleAsync(page, input, errors, "start-workflow");
        await input.FillAsync("\"typed in the UI\"");
        await Chromium.ScreenshotAsync(page, "start-workflow");
        await page.GetByTestId("start-workflow-button").ClickAsync();

        var handle = site.Client.GetWorkflowHandle<EchoWorkflow, string>(id);
        Assert.True(await Eventually.HoldsAsync(async () => await WorkflowExistsAsync(handle), s_wait), "the workflow the UI started exists");
        var described = await handle.DescribeAsync();
        Assert.Equal(("EchoWorkflow", taskQueue), (described.WorkflowType, described.TaskQueue));
        using var worker = new TemporalWorker(site.Client, new TemporalWorkerOptions(taskQueue).AddWorkflow<EchoWorkflow>());
        Assert.Equal("typed in the UI", await worker.ExecuteAsync(() => handle.GetResultAsync()));
    }

    [Fact]
    public async Task AReader_IsOfferedNoWritesOnThesePages_AndTheServerRefusesThemForgedFromThePage()
    {
        var schedule = await site.CreateScheduleAsync("ui-read-only");
        var (page, errors) = await site.NewPageAsync();
        await SignInAsync(page, errors, site.Server.ReaderKey, $"{Namespace}/schedules");
        await ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = schedule.Id, Exact = true }), errors, "reader-schedules");
        Assert.Equal(0, await page.GetByTestId("create-schedule").CountAsync());

        await page.GotoAsync($"{Ui}{Namespace}/schedules/{schedule.Id}");
        var actions = page.Locator("#schedule-actions-primary-button");
        await ExpectVisibleAsync(page, actions, errors, "reader-schedule");
        Assert.True(await actions.IsDisabledAsync(), "pause is not offered to a reader");
        Assert.True(await page.Locator("#schedule-actions-menu-button").IsDisabledAsync(), "nor trigger, edit or delete");
        await Chromium.ScreenshotAsync(page, "reader-schedule");

        await page.GotoAsync($"{Ui}{Namespace}/workflows/start-workflow");
        await ExpectVisibleAsync(page, page.GetByTestId("start-workflow"), errors, "reader-start-workflow");
        await page.Locator("#workflowId").FillAsync("reader-" + site.Run);
        await page.Locator("#taskQueue").FillAsync("reader-" + site.Run);
        await page.Locator("#workflowType").FillAsync("EchoWorkflow");
        Assert.True(await page.GetByTestId("start-workflow-button").IsDisabledAsync(), "starting a workflow is not offered to a reader");

        // The same writes, forged by a script on the page with the session's CSRF token: the reader lacks the permission.
        var writes = new (string Method, string Path, object Body)[]
        {
            ("POST", $"/api/v1/namespaces/{SignInServer.Namespace}/schedules/{schedule.Id}/patch", new { patch = new { pause = "forged" }, request_id = Guid.NewGuid().ToString() }),
            ("POST", $"/api/v1/namespaces/{SignInServer.Namespace}/workflows/reader-{site.Run}", new { workflowType = new { name = "EchoWorkflow" }, taskQueue = new { name = "reader-" + site.Run } }),
            ("POST", $"/api/v1/namespaces/{SignInServer.Namespace}/batch-operations/reader-{site.Run}", new { visibilityQuery = "WorkflowType = 'EchoWorkflow'", reason = "forged", terminationOperation = new { } }),
            ("DELETE", $"/api/v1/namespaces/{SignInServer.Namespace}/schedules/{schedule.Id}", new { }),
        };
        foreach (var (method, path, body) in writes)
        {
            var (status, code, message) = await PageScript.FetchAsync(page, method, path, method == "DELETE" ? null : JsonSerializer.Serialize(body));
            Assert.True(
                (status, code) == ((int)HttpStatusCode.Forbidden, (int)Grpc.Core.StatusCode.PermissionDenied),
                $"{method} {path}: {status} {code} {message}");
        }

        Assert.False((await schedule.DescribeAsync()).Schedule.State.Paused);
        Assert.False(await WorkflowExistsAsync(site.Client.GetWorkflowHandle("reader-" + site.Run)));
        await schedule.DeleteAsync();
    }

    private static async Task<ScheduleDescription?> DescribedAsync(ScheduleHandle handle)
    {
        try
        {
            return await handle.DescribeAsync();
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return null;
        }
    }

    private static async Task<bool> WorkflowExistsAsync(WorkflowHandle handle)
    {
        try
        {
            await handle.DescribeAsync();
            return true;
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return false;
        }
    }

    private static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot) =>
        Chromium.ExpectVisibleAsync(page, locator, errors, screenshot, s_wait);
}
