using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Bastion.Tests.Ui;

/// <summary>
/// A real OpenID Connect provider on loopback: <c>oidc-provider</c> from npm, run by node from
/// <c>tests/Bastion.Tests/Ui/Idp/oidc.mjs</c> (packages installed with <c>npm ci</c> from the committed lock file when
/// missing). One client, <see cref="ClientId"/> with <see cref="ClientSecret"/>, redirecting to the given UI's callback;
/// people sign in on its page with a login of <paramref name="accounts"/> (their e-mail, whether it is verified,
/// groups and authentication methods). <see cref="TamperAsync"/> makes its next ID token hostile.
/// </summary>
internal sealed class OidcTestProvider : IAsyncDisposable
{
    public const string ClientId = "bastion-ui";
    public const string ClientSecret = "test-client-secret-not-for-production";

    private readonly Process _node;
    private readonly string _configFile;

    private OidcTestProvider(Process node, string configFile, string issuer)
    {
        _node = node;
        _configFile = configFile;
        Issuer = issuer;
    }

    public string Issuer { get; }

    /// <summary>A person at the provider.</summary>
    public sealed record Account(string Email, bool EmailVerified = true, string[]? Groups = null, string[]? Amr = null);

    public static async Task<OidcTestProvider> StartAsync(string bastionUi, IReadOnlyDictionary<string, Account> accounts)
    {
        var dir = Path.Combine(TestPaths.RepositoryRoot(), "tests", "Bastion.Tests", "Ui", "Idp");
        await InstallAsync(dir);
        var configFile = Path.Combine(Path.GetTempPath(), $"bastion-test-idp-{Guid.NewGuid():N}.json");
        var config = new Dictionary<string, object>
        {
            ["clientId"] = ClientId,
            ["clientSecret"] = ClientSecret,
            ["redirectUri"] = bastionUi + "/auth/oidc/callback",
            ["accounts"] = accounts.ToDictionary(
                a => a.Key,
                a => new Dictionary<string, object?> { ["email"] = a.Value.Email, ["email_verified"] = a.Value.EmailVerified, ["groups"] = a.Value.Groups ?? [], ["amr"] = a.Value.Amr ?? ["pwd"] }),
        };
        await File.WriteAllTextAsync(configFile, JsonSerializer.Serialize(config));
        var start = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("oidc.mjs");
        start.ArgumentList.Add(configFile);
        var node = Process.Start(start)!;
        var stderr = new StringBuilder();
        node.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        node.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await node.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("{\"issuer\"", StringComparison.Ordinal))
                {
                    return new OidcTestProvider(node, configFile, JsonDocument.Parse(line).RootElement.GetProperty("issuer").GetString()!);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        node.Kill(entireProcessTree: true);
        lock (stderr)
        {
            throw new InvalidOperationException("The test OpenID Connect provider did not start:\n" + stderr);
        }
    }

    /// <summary>The provider's next ID token claims another issuer (<c>issuer</c>) or audience (<c>audience</c>), is signed with an unpublished key (<c>key</c>), or has expired (<c>expired</c>).</summary>
    public async Task TamperAsync(string mode)
    {
        using var http = new HttpClient();
        using var body = new StringContent(JsonSerializer.Serialize(new { mode }), Encoding.UTF8, "application/json");
        (await http.PostAsync(new Uri(Issuer + "/__test/tamper"), body)).EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Test classes that start a provider run in parallel: one installs while the others wait, and "installed" is a mark
    /// written after <c>npm ci</c> finished (one package's files appear long before its dependencies' do).
    /// </summary>
    private static readonly SemaphoreSlim s_install = new(1, 1);

    private static async Task InstallAsync(string dir)
    {
        var installed = Path.Combine(dir, "node_modules", ".bastion-installed");
        await s_install.WaitAsync();
        try
        {
            if (!File.Exists(installed))
            {
                await NpmCiAsync(dir);
                await File.WriteAllTextAsync(installed, "npm ci finished\n");
            }
        }
        finally
        {
            s_install.Release();
        }
    }

    private static async Task NpmCiAsync(string dir)
    {
        var start = new ProcessStartInfo("npm") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "ci", "--no-audit", "--no-fund", "--ignore-scripts" })
        {
            start.ArgumentList.Add(argument);
        }

        using var npm = Process.Start(start)!;
        var output = npm.StandardOutput.ReadToEndAsync();
        var errors = npm.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await npm.WaitForExitAsync(cts.Token);
        if (npm.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm ci failed in {dir}:\n{await output}\n{await errors}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_node.HasExited)
        {
            _node.Kill(entireProcessTree: true);
            await _node.WaitForExitAsync();
        }

        _node.Dispose();
        File.Delete(_configFile);
    }
}
