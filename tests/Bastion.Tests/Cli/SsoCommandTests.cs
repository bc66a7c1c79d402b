namespace Bastion.Tests.Cli;

/// <summary>
/// <c>bastion sso</c> on the database file: an account's OpenID Connect provider set, shown (the secret's source, never a
/// secret) and turned off, the account-wide rules changed, and bad input refused as a usage error (exit 2).
/// </summary>
public sealed class SsoCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-cli-sso-").FullName;

    [Fact]
    public async Task SsoCommands_SetShowAndDisableTheProvider_AndChangeTheRules()
    {
        var set = await RunAsync(
            "sso", "oidc", "set", "--account", "acme", "--issuer", "https://idp.acme.test/", "--client-id", "bastion",
            "--client-secret-env", "BASTION_OIDC_SECRET", "--groups-claim", "groups", "--scope", "groups");
        Assert.True(set.ExitCode == 0, set.Output);
        Assert.Contains("oidc: on", set.Output, StringComparison.Ordinal);
        Assert.Contains("client secret: environment variable BASTION_OIDC_SECRET", set.Output, StringComparison.Ordinal);

        var rules = await RunAsync("sso", "set", "--account", "acme", "--jit-users", "on", "--require-mfa", "all", "--people-api-key-sign-in", "off", "--mfa-value", "otp");
        Assert.True(rules.ExitCode == 0, rules.Output);
        var shown = (await RunAsync("sso", "show", "--account", "acme")).Output;
        Assert.Contains("issuer: https://idp.acme.test/", shown, StringComparison.Ordinal);
        Assert.Contains("just-in-time users: on", shown, StringComparison.Ordinal);
        Assert.Contains("people api-key sign-in: off", shown, StringComparison.Ordinal);
        Assert.Contains("require mfa: all (values: otp)", shown, StringComparison.Ordinal);

        var disabled = await RunAsync("sso", "oidc", "disable", "--account", "acme");
        Assert.True(disabled.ExitCode == 0, disabled.Output);
        Assert.Contains("oidc: off", (await RunAsync("sso", "oidc", "show", "--account", "acme")).Output, StringComparison.Ordinal);
        Assert.Contains("oidc: not set up", (await RunAsync("sso", "show", "--account", "other")).Output, StringComparison.Ordinal);

        // Each change is an account event in the audit log, by the OS user of the command; the secret's source only.
        var tail = (await RunAsync("audit", "tail", "-n", "10")).Output;
        Assert.Contains("sso-settings", tail, StringComparison.Ordinal);
        Assert.Contains("bastion sso", tail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SamlCommands_SetShowAndDisableTheProvider()
    {
        var set = await RunAsync("sso", "saml", "set", "--account", "acme", "--idp-metadata", "https://idp.acme.test/metadata", "--sp-entity-id", "urn:bastion:acme", "--groups-attribute", "groups");
        Assert.True(set.ExitCode == 0, set.Output);
        Assert.Contains("saml: on", set.Output, StringComparison.Ordinal);
        Assert.Contains("/auth/saml/metadata", set.Output, StringComparison.Ordinal);
        var shown = (await RunAsync("sso", "show", "--account", "acme")).Output;
        Assert.Contains("sp entity id: urn:bastion:acme", shown, StringComparison.Ordinal);
        Assert.Contains("oidc: not set up", shown, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("sso", "saml", "disable", "--account", "acme")).ExitCode);
        Assert.Contains("saml: off", (await RunAsync("sso", "saml", "show", "--account", "acme")).Output, StringComparison.Ordinal);
        var relative = await RunAsync("sso", "saml", "set", "--account", "acme", "--idp-metadata", "idp.xml", "--sp-entity-id", "x");
        Assert.Equal(2, relative.ExitCode);
        Assert.Contains("absolute file path", relative.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://idp.acme.test", "https")]
    [InlineData("not a url", "absolute")]
    public async Task OidcSet_RefusesAnIssuerThatIsNotHttps(string issuer, string expected)
    {
        var refused = await RunAsync("sso", "oidc", "set", "--account", "acme", "--issuer", issuer, "--client-id", "bastion");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains(expected, refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OidcSet_RefusesTwoSecretSources_AndARelativeSecretFile()
    {
        var both = await RunAsync("sso", "oidc", "set", "--account", "acme", "--issuer", "https://idp.acme.test", "--client-id", "b", "--client-secret-env", "X", "--client-secret-file", "/etc/secret");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("not both", both.Output, StringComparison.Ordinal);
        var relative = await RunAsync("sso", "oidc", "set", "--account", "acme", "--issuer", "https://idp.acme.test", "--client-id", "b", "--client-secret-file", "secret.txt");
        Assert.Equal(2, relative.ExitCode);
        Assert.Contains("absolute path", relative.Output, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync("sso", "oidc", "disable", "--account", "acme")).ExitCode); // nothing was stored
    }

    /// <summary>
    /// With <c>--address</c> the commands go through a running server's SSO API with the caller's API key: an owner sets
    /// (the secret from standard input, kept sealed by the server and never printed), shows and turns off; a developer's
    /// key is refused; the secret is never asked for on the database.
    /// </summary>
    [Fact]
    public async Task SsoCommands_ThroughARunningServersApi_WithTheCallersKey()
    {
        await using var site = new Ui.SignInServer();
        await site.StartAsync();
        await File.WriteAllBytesAsync(Path.Combine(_directory, "server-ca.pem"), Security.Tls.TestPki.PemBytes(site.ServerCa));
        string[] connection = ["--address", $"127.0.0.1:{site.Server.Port}", "--tls-ca-path", "server-ca.pem", "--tls-server-name", "bastion.test"];
        var owner = ("BASTION_API_KEY", Ui.SignInServer.OwnerKey);
        var secret = "cli-secret-" + Guid.NewGuid().ToString("N");

        var set = await CliProcess.RunWithInputAsync(_directory, secret + "\n", ["sso", "oidc", "set", "--issuer", "https://idp.acme.test", "--client-id", "bastion", "--client-secret-stdin", .. connection], owner);
        Assert.True(set.ExitCode == 0, set.Output);
        Assert.Contains("client secret: kept by the server", set.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, set.Output, StringComparison.Ordinal);
        var settings = site.Server.Identities.SsoSettingsOf(Ui.SignInServer.Account)!;
        Assert.Equal(secret, site.Server.OidcClientSecret.Read(Ui.SignInServer.Account, settings.Oidc!));

        var rules = await CliProcess.RunInAsync(_directory, ["sso", "set", "--jit-users", "on", .. connection], owner);
        Assert.True(rules.ExitCode == 0, rules.Output);
        var shown = await CliProcess.RunInAsync(_directory, ["sso", "show", .. connection], owner);
        Assert.Contains("issuer: https://idp.acme.test", shown.Output, StringComparison.Ordinal);
        Assert.Contains("just-in-time users: on", shown.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, shown.Output, StringComparison.Ordinal);

        var developer = await CliProcess.RunInAsync(_directory, ["sso", "show", .. connection], ("BASTION_API_KEY", site.WriterKey));
        Assert.Equal(1, developer.ExitCode);
        Assert.Contains("PermissionDenied", developer.Output, StringComparison.Ordinal);

        var disabled = await CliProcess.RunInAsync(_directory, ["sso", "oidc", "disable", .. connection], owner);
        Assert.True(disabled.ExitCode == 0, disabled.Output);
        Assert.Contains("oidc: off", disabled.Output, StringComparison.Ordinal);
        Assert.False(site.Server.Identities.SsoSettingsOf(Ui.SignInServer.Account)!.Oidc!.Enabled);

        var onDatabase = await RunAsync("sso", "oidc", "set", "--account", "acme", "--issuer", "https://idp.acme.test", "--client-id", "b", "--client-secret-stdin");
        Assert.Equal(2, onDatabase.ExitCode);
        Assert.Contains("--client-secret-stdin needs --address", onDatabase.Output, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        CliProcess.RunInAsync(_directory, [.. arguments, "-f", "bastion.db"]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
