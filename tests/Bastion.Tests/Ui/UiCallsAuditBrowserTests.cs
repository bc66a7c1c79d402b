using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// Every API call Temporal's UI makes from its pages, as chromium makes them, passes the security pipeline and is
/// audited <c>"via": "ui"</c>: the calls are whatever the package's pages do, so they are counted in the browser, not
/// listed by hand. (<c>/api/v1/settings</c> is the UI's own configuration, not an API call.)
/// </summary>
public sealed class UiCallsAuditBrowserTests(CodecBrowserTests.Site site) : IClassFixture<CodecBrowserTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task EveryApiCallOfTheListWorkflowAndNamespacesPages_IsAuditedViaUi()
    {
        await site.UseCodecServerAsync(site.Codec.Address); // the workflow page with its codec calls, which go elsewhere
        var before = site.Audit.Records.Count;
        var (page, errors) = await site.NewPageAsync();
        var calls = new ConcurrentQueue<string>();
        page.Request += (_, request) =>
        {
            var url = new Uri(request.Url);
            if (request.Url.StartsWith(site.Ui + "/", StringComparison.Ordinal) && url.AbsolutePath.StartsWith("/api/", StringComparison.Ordinal) && url.AbsolutePath != "/api/v1/settings")
            {
                calls.Enqueue($"{request.Method} {url.AbsolutePath}");
            }
        };

        await page.GotoAsync($"{site.Ui}/namespaces/default/workflows");
        await Chromium.ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = site.WorkflowId, Exact = true }), errors, "audit-list", s_wait);
        await page.GotoAsync($"{site.Ui}/namespaces/default/workflows/{site.WorkflowId}");
        await Chromium.ExpectVisibleAsync(page, page.GetByText($"\"revealed-{site.Secret}\"").First, errors, "audit-workflow", s_wait);
        await page.GotoAsync($"{site.Ui}/namespaces");
        await Chromium.ExpectVisibleAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "default", Exact = true }), errors, "audit-namespaces", s_wait);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle, new() { Timeout = (float)s_wait.TotalMilliseconds });
        await page.Context.CloseAsync();

        var made = calls.ToList();
        Assert.Contains(made, c => c.EndsWith("/workflows", StringComparison.Ordinal));
        Assert.Contains(made, c => c.Contains("/history", StringComparison.Ordinal));
        await Eventually.HoldsAsync(() => Task.FromResult(site.Audit.Records.Count - before >= made.Count));
        var records = site.Audit.Records.Skip(before).ToList();
        Assert.True(made.Count == records.Count, $"{made.Count} API calls, {records.Count} audit records:\n{string.Join("\n", made)}\n--\n{string.Join("\n", records.Select(r => r.Operation))}");
        Assert.All(records, r => Assert.Equal(("ui", "LocalDev"), (r.Via, r.PrincipalType)));
    }
}
