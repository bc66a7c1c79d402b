using System.Diagnostics;
using System.Globalization;
using Bastion.Tests.Integration;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Bastion.Tests.Ui;

/// <summary>
/// A measurement, not a test of the suite: the workflow list's first paint with 10,000 workflows in the namespace, in
/// chromium against the real <c>start-dev</c> on a SQLite file. Skipped unless <c>BASTION_UI_FIRST_PAINT=1</c>; then
/// <c>dotnet test tests/Bastion.Tests --filter FullyQualifiedName~WorkflowListFirstPaint --logger "console;verbosity=detailed"</c>
/// prints the times (docs/ui.md, "Numbers"). <c>BASTION_UI_FIRST_PAINT_DB=/path/file.db</c> keeps the database for
/// the next run (filled when missing), as filling it takes minutes. Nothing here asserts a time.
/// </summary>
public sealed class WorkflowListFirstPaint(ITestOutputHelper output)
{
    private const int Workflows = 10_000;
    private const int Loads = 5;
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(120);

    /// <summary>A fact that runs only when <c>BASTION_UI_FIRST_PAINT</c> is set: 10,000 workflows have no place in the suite.</summary>
    private sealed class MeasurementFactAttribute : FactAttribute
    {
        public MeasurementFactAttribute()
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("BASTION_UI_FIRST_PAINT")))
            {
                Skip = "A measurement: set BASTION_UI_FIRST_PAINT=1 to run it.";
            }
        }
    }

    [MeasurementFact]
    public async Task TheWorkflowList_With10000Workflows_FirstPaint()
    {
        var kept = Environment.GetEnvironmentVariable("BASTION_UI_FIRST_PAINT_DB");
        var directory = kept is null ? Directory.CreateTempSubdirectory("bastion-first-paint-") : null;
        var database = kept ?? Path.Combine(directory!.FullName, "bastion.db");
        try
        {
            var port = ServerProcess.FreePort();
            var uiPort = ServerProcess.FreePort();
            using var server = await ServerProcess.StartAsync(port, database, uiPort: uiPort);
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await FillAsync(client);

            await using var browser = await Chromium.LaunchAsync();
            var times = new List<double>();
            for (var i = 0; i < Loads; i++)
            {
                var (page, errors) = await browser.NewPageAsync(); // a fresh context each time: nothing cached
                var clock = new Stopwatch();
                var cdp = await page.Context.NewCDPSessionAsync(page);
                await cdp.SendAsync("Performance.enable");
                clock.Start();
                await page.GotoAsync($"http://127.0.0.1:{uiPort}/namespaces/default/workflows");
                await Chromium.ExpectVisibleAsync(page, page.Locator("[data-testid=workflows-summary-configurable-table-row]").First, errors, "first-paint", s_wait);
                var elapsed = clock.Elapsed.TotalMilliseconds;
                times.Add(elapsed);
                output.WriteLine($"load {i + 1}: first row visible after {elapsed:F0} ms");
                // The page's own clock (accurate, unlike the driver's batched events) and its CPU time (the machine is shared).
                output.WriteLine((await page.EvaluateAsync<string>(Timeline)).TrimEnd());
                var metrics = (await cdp.SendAsync("Performance.getMetrics"))!.Value.GetProperty("metrics").EnumerateArray()
                    .ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("value").GetDouble());
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  main thread busy {metrics["TaskDuration"] * 1000:F0} ms (script {metrics["ScriptDuration"] * 1000:F0} ms, layout and style {(metrics["LayoutDuration"] + metrics["RecalcStyleDuration"]) * 1000:F0} ms)"));
                if (i == 0)
                {
                    await Chromium.ScreenshotAsync(page, "workflow-list-10000");
                }

                await page.Context.CloseAsync();
            }

            times.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first paint over {Loads} loads: median {times[Loads / 2]:F0} ms, min {times[0]:F0} ms, max {times[^1]:F0} ms"));
        }
        finally
        {
            directory?.Delete(recursive: true);
        }
    }

    /// <summary>The navigation's and every request's start and end on the page's clock, and now (the row is visible).</summary>
    private const string Timeline = """
        () => {
          const f = (n) => String(Math.round(n)).padStart(6);
          const nav = performance.getEntriesByType('navigation')[0];
          const lines = [`  page: html ${f(nav.responseEnd)} ms, DOMContentLoaded ${f(nav.domContentLoadedEventEnd)} ms, row visible ~${f(performance.now())} ms`];
          for (const r of performance.getEntriesByType('resource')) {
            if (r.name.includes('/api/') || r.name.includes('/_app/immutable/') && r.name.endsWith('.js'))
              lines.push(`  ${f(r.startTime)} → ${f(r.responseEnd)} ms  ${decodeURIComponent(new URL(r.name).pathname + new URL(r.name).search)}`);
          }
          return lines.join('\n');
        }
        """;

    /// <summary>Fills the namespace to <see cref="Workflows"/> closed workflows: started without a worker, then terminated.</summary>
    private async Task FillAsync(TemporalClient client)
    {
        var count = (await client.CountWorkflowsAsync(string.Empty)).Count;
        var clock = Stopwatch.StartNew();
        var next = (int)count;
        var workers = Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var n = Interlocked.Increment(ref next); n <= Workflows; n = Interlocked.Increment(ref next))
            {
                var id = $"wf-{n:D5}";
                var handle = await client.StartWorkflowAsync("Idle", [n], new(id, "no-worker") { Memo = new Dictionary<string, object> { ["n"] = n } });
                await handle.TerminateAsync("first-paint fill");
            }
        });
        await Task.WhenAll(workers);
        output.WriteLine($"namespace holds {(await client.CountWorkflowsAsync(string.Empty)).Count} workflows ({Workflows - count} added in {clock.Elapsed.TotalSeconds:F0} s)");
    }
}
