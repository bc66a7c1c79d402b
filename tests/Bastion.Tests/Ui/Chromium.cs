using System.Diagnostics;
using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// Debian's chromium (<c>/usr/bin/chromium</c>, installed by <c>.ci/run</c>) driven by Playwright's .NET driver; no
/// browser is downloaded. Missing chromium fails the test: the UI is untested without it.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Instance = browser;
    }

    public IBrowser Instance { get; }

    /// <summary>Where screenshots go: the test output directory, under <c>screenshots/</c>.</summary>
    public static string ScreenshotDirectory { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public static async Task<Chromium> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"The browser tests need Debian's chromium at {ChromiumPath}: apt-get install -y chromium (.ci/run does).");
        }

        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                // Containers run tests as root, where chromium's sandbox cannot start; /dev/shm is often small there.
                Args = ["--no-sandbox", "--disable-dev-shm-usage"],
            });
            return new Chromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A fresh page (own cookies and storage) with console errors collected, for a test's failure message.</summary>
    /// <param name="trustAnyCertificate">For a server whose certificate a test CA issued, which chromium does not know.</param>
    public async Task<(IPage Page, List<string> Errors)> NewPageAsync(bool trustAnyCertificate = false)
    {
        var context = await Instance.NewContextAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 }, IgnoreHTTPSErrors = trustAnyCertificate });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add(error);
            }
        };
        return (page, errors);
    }

    /// <summary>Waits (bounded) for <paramref name="locator"/>; on failure keeps a screenshot and says what the page logged.</summary>
    public static Task ExpectVisibleAsync(IPage page, ILocator locator, List<string> errors, string screenshot, TimeSpan wait) =>
        ExplainedAsync(page, errors, screenshot, () => locator.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = (float)wait.TotalMilliseconds }));

    /// <summary>Runs a bounded wait on <paramref name="page"/>; when it times out, keeps a screenshot and says where the page is and what it logged.</summary>
    public static async Task ExplainedAsync(IPage page, List<string> errors, string screenshot, Func<Task> wait)
    {
        try
        {
            await wait();
        }
        catch (TimeoutException e)
        {
            await ScreenshotAsync(page, screenshot + "-failed");
            string logged;
            lock (errors)
            {
                logged = string.Join("\n", errors);
            }

            throw new Xunit.Sdk.XunitException($"{e.Message}\nPage: {page.Url}\nConsole errors:\n{logged}\nScreenshot: {Path.Combine(ScreenshotDirectory, screenshot + "-failed.png")}");
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> on the UI at <paramref name="ui"/>, is sent to the sign-in page, signs in with
    /// <paramref name="apiKey"/> (a screenshot of the filled form) and waits to be back on <paramref name="path"/> (its
    /// query too, when it has one).
    /// </summary>
    public static async Task SignInAsync(IPage page, List<string> errors, string ui, string apiKey, string path, string screenshot, TimeSpan wait)
    {
        await page.GotoAsync(ui + path);
        await ExplainedAsync(page, errors, screenshot + "-to-login", () => WaitForAddressAsync(page, AtSignIn, wait));
        var key = page.GetByLabel("API key");
        await ExpectVisibleAsync(page, key, errors, screenshot, wait);
        await key.FillAsync(apiKey);
        await ScreenshotAsync(page, screenshot);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        var withQuery = path.Contains('?', StringComparison.Ordinal);
        await ExplainedAsync(page, errors, screenshot + "-back", () => WaitForAddressAsync(
            page, url => (withQuery ? new Uri(url).PathAndQuery : new Uri(url).AbsolutePath) == path, wait));
    }

    /// <summary>The UI's sign-in page (it always carries the page to return to in its query).</summary>
    public static bool AtSignIn(string url) => url.Contains("/login?", StringComparison.Ordinal);

    /// <summary>
    /// Waits (bounded) until the page's address satisfies <paramref name="matches"/>, however it got there, and throws
    /// <see cref="TimeoutException"/> if it does not. Playwright's own <c>WaitForURLAsync</c> also waits for a load
    /// state or a navigation event: it timed out on CI twice with the page already at the awaited address (the sign-in
    /// form once, the page signed back into once), which this wait cannot.
    /// </summary>
    public static async Task WaitForAddressAsync(IPage page, Func<string, bool> matches, TimeSpan wait)
    {
        var started = Stopwatch.GetTimestamp();
        while (!matches(page.Url))
        {
            if (Stopwatch.GetElapsedTime(started) >= wait)
            {
                throw new TimeoutException($"The page's address did not become the one awaited within {wait.TotalSeconds:0} s; it is {page.Url}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Clicks <paramref name="target"/> and waits for the address to satisfy <paramref name="at"/>. A click that lands
    /// while the page re-renders the element (a list refreshed after a dialog, a running workflow's header polled)
    /// is lost now and then: mouse-down and mouse-up reach different nodes, so no click fires (seen about 1 run in
    /// 4 on CI). Clicks again while the address has not changed and the target is still there, at most three times,
    /// then fails. A target that is gone was clicked: the client-side navigation it began changes the address only once
    /// the next page's data has loaded, which on a loaded CI machine took longer than the first wait (a second click
    /// then waited for a target no longer on the page), so that navigation is waited for instead.
    /// </summary>
    public static async Task ClickToAsync(IPage page, ILocator target, Func<string, bool> at)
    {
        for (var attempt = 1; ; attempt++)
        {
            await target.ClickAsync();
            try
            {
                await WaitForAddressAsync(page, at, TimeSpan.FromSeconds(10));
                return;
            }
            catch (TimeoutException) when (attempt < 3)
            {
                if (!await target.IsVisibleAsync())
                {
                    await WaitForAddressAsync(page, at, TimeSpan.FromSeconds(30));
                    return;
                }
            }
        }
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await Instance.DisposeAsync();
        _playwright.Dispose();
    }
}
