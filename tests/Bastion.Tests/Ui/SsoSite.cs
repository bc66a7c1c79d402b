using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// What the single sign-on browser tests share: chromium, a <c>server start</c>-style server (<see cref="SignInServer"/>)
/// and an identity provider the subclass starts and stops.
/// </summary>
public abstract class SsoSite : IAsyncLifetime
{
    private Chromium? _browser;

    internal SignInServer Server { get; } = new();

    public Task<(IPage Page, List<string> Errors)> NewPageAsync() => _browser!.NewPageAsync(trustAnyCertificate: true);

    public async Task InitializeAsync()
    {
        _browser = await Chromium.LaunchAsync();
        await Server.StartAsync();
        await StartProviderAsync();
    }

    /// <summary>Starts the identity provider and sets the account's SSO up with it (the server is running).</summary>
    protected abstract Task StartProviderAsync();

    protected abstract ValueTask StopProviderAsync();

    public async Task DisposeAsync()
    {
        if (_browser != null)
        {
            await _browser.DisposeAsync();
        }

        await StopProviderAsync();
        await Server.DisposeAsync();
    }
}
