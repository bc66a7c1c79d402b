using System.Net;
using System.Xml;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// Single sign-on with SAML 2.0 against an identity provider of the test's own (<see cref="SamlTestIdp"/>, signing
/// with <c>SignedXml</c>): SP-initiated and IdP-initiated sign-in in chromium end in the same UI session as the
/// invited user (identity-provider groups applied); the SP metadata is published; and every hostile response — the
/// signature stripped, only the response signed, tampered after signing, signed by another key, another audience,
/// another recipient or destination, expired, not yet valid, replayed, wrapped (a second assertion) — is refused and
/// audited with its reason.
/// </summary>
public sealed class SamlSignInTests(SamlSignInTests.Site site) : IClassFixture<SamlSignInTests.Site>
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>The server, the provider and chromium, shared by the class's tests.</summary>
    public sealed class Site : SsoSite
    {
        internal SamlTestIdp Idp { get; private set; } = null!;

        protected override async Task StartProviderAsync()
        {
            var ns = Server.Server.Namespaces.All.Single(n => n.FullName == SignInServer.Namespace);
            await Server.Server.Identities.CreateAsync(new UserEntry { Id = "user-saml-grouped", Account = SignInServer.Account, Email = "saml-grouped@acme.test" });
            await Server.Server.Identities.CreateAsync(new UserGroupEntry
            {
                Id = "group-saml-engineers",
                Account = SignInServer.Account,
                DisplayName = "SAML engineers",
                IdpGroup = "eng",
                NamespaceAccess = new Dictionary<string, Permission> { [ns.Id] = Permission.NamespaceRead },
            });
            Idp = await SamlTestIdp.StartAsync(Server.Url, new Dictionary<string, (string, string[], string)>
            {
                ["writer"] = (SignInServer.WriterEmail, [], "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"),
                ["grouped"] = ("saml-grouped@acme.test", ["eng"], "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"),
            });
            await Server.Server.Identities.SetSsoSettingsAsync(SignInServer.Account, _ => new SsoSettingsEntry
            {
                Id = string.Empty,
                Account = SignInServer.Account,
                Saml = new SamlSettings(Idp.MetadataFile, SamlTestIdp.SamlSpEntityId, null, "groups", Enabled: true),
            });
        }

        protected override async ValueTask StopProviderAsync()
        {
            if (Idp != null)
            {
                await Idp.DisposeAsync();
            }
        }
    }

    private string Ui => site.Server.Url;

    private static string Workflows => $"/namespaces/{SignInServer.Namespace}/workflows";

    [Fact]
    public async Task SpInitiated_SignsInAsTheInvitedUser_WithTheirIdpGroups()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync(Ui + Workflows);
        await Chromium.WaitForAddressAsync(page, Chromium.AtSignIn, s_wait);
        var sso = page.GetByRole(AriaRole.Link, new() { Name = "Sign in with SAML single sign-on" });
        await Chromium.ExpectVisibleAsync(page, sso, errors, "saml-sign-in-page", s_wait);
        await sso.ClickAsync();
        var login = page.GetByLabel("Login");
        await Chromium.ExpectVisibleAsync(page, login, errors, "saml-idp", s_wait);
        await login.FillAsync("grouped");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Chromium.WaitForAddressAsync(page, url => url.StartsWith(Ui, StringComparison.Ordinal) && new Uri(url).AbsolutePath == Workflows, s_wait);
        await Chromium.ExpectVisibleAsync(page, page.GetByTestId("signed-in-as").GetByText("saml-grouped@acme.test"), errors, "saml-signed-in", s_wait);
        await Chromium.ScreenshotAsync(page, "saml-signed-in");

        Assert.True(site.Server.Server.Identities.Find<UserGroupEntry>("group-saml-engineers")!.Members.ContainsKey("user-saml-grouped"));
        var (status, _, _) = await PageScript.FetchAsync(page, "POST", $"/api/v1/namespaces/{SignInServer.Namespace}/workflows/any/terminate", "{}");
        Assert.Equal(403, status);
        var record = site.Server.Audit.Records.Last(r => r.Kind == AuditKinds.UiSignIn && r.PrincipalName == "saml-grouped@acme.test");
        Assert.Equal(0, record.Status);
        Assert.Equal("saml", record.Details["method"]);
    }

    [Fact]
    public async Task IdpInitiated_SignsIn()
    {
        var (page, errors) = await site.NewPageAsync();
        await page.GotoAsync(site.Idp.Url + "/idp-initiated?login=writer");
        await Chromium.ExpectVisibleAsync(page, page.GetByTestId("signed-in-as").GetByText(SignInServer.WriterEmail), errors, "saml-idp-initiated", s_wait);
        var session = await page.EvaluateAsync<string>("async () => (await fetch('/auth/session')).text()");
        Assert.Contains("\"method\":\"saml\"", session, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSpMetadata_IsPublished()
    {
        using var http = site.Server.NewHttpClient();
        var metadata = new XmlDocument();
        metadata.LoadXml(await http.GetStringAsync(new Uri("/auth/saml/metadata", UriKind.Relative)));
        Assert.Equal(SamlTestIdp.SamlSpEntityId, metadata.DocumentElement!.GetAttribute("entityID"));
        var acs = (XmlElement)metadata.GetElementsByTagName("AssertionConsumerService", "urn:oasis:names:tc:SAML:2.0:metadata")[0]!;
        Assert.Equal(Ui + "/auth/saml/acs", acs.GetAttribute("Location"));
        Assert.Equal("true", ((XmlElement)metadata.GetElementsByTagName("SPSSODescriptor", "urn:oasis:names:tc:SAML:2.0:metadata")[0]!).GetAttribute("WantAssertionsSigned"));
    }

    public static TheoryData<string, string> HostileResponses => new()
    {
        { "signature stripped", "signature" },
        { "only the response signed", "unsigned_assertion" },
        { "tampered after signing", "signature" },
        { "signed by another key", "signature" },
        { "another audience", "audience" },
        { "another recipient", "recipient" },
        { "another destination", "recipient" },
        { "expired", "expired" },
        { "not yet valid", "not_yet_valid" },
        { "wrapped", "wrapping" },
    };

    [Theory]
    [MemberData(nameof(HostileResponses))]
    public async Task AHostileResponse_IsRefused_AndAuditedWithTheReason(string hostile, string reason)
    {
        var response = site.Idp.Response("writer", hostile switch
        {
            "signature stripped" => new() { SignAssertion = false },
            "only the response signed" => new() { SignAssertion = false, SignResponse = true },
            "tampered after signing" => new() { Tamper = d => Email(d).InnerText = "owner@localhost" },
            "signed by another key" => new() { ForeignKey = true },
            "another audience" => new() { Audience = "urn:some-other-sp" },
            "another recipient" => new() { Recipient = "https://elsewhere.test/acs" },
            "another destination" => new() { Destination = "https://elsewhere.test/acs" },
            "expired" => new() { Shift = TimeSpan.FromHours(-2) },
            "not yet valid" => new() { Shift = TimeSpan.FromHours(2) },
            "wrapped" => new() { Tamper = Wrap },
            _ => throw new ArgumentOutOfRangeException(nameof(hostile)),
        });
        var (location, _) = await PostAsync(response);
        Assert.StartsWith("/login?error=", location, StringComparison.Ordinal);
        var record = site.Server.Audit.Records.Last(r => r.Kind == AuditKinds.UiSignIn && r.Details.GetValueOrDefault("method") == "saml");
        Assert.Equal(reason, record.Details["reason"]);
        Assert.NotEqual(0, record.Status);
        Assert.DoesNotContain(response[..40], System.Text.Json.JsonSerializer.Serialize(record), StringComparison.Ordinal); // not the assertion
    }

    [Fact]
    public async Task AReplayedAssertion_IsRefused()
    {
        var response = site.Idp.Response("writer");
        var (first, cookies) = await PostAsync(response);
        Assert.Equal("/", first);
        Assert.Contains(cookies, c => c.StartsWith("__Host-bastion-session=", StringComparison.Ordinal));
        var (again, _) = await PostAsync(response);
        Assert.StartsWith("/login?error=", again, StringComparison.Ordinal);
        Assert.Equal("replayed", site.Server.Audit.Records.Last(r => r.Kind == AuditKinds.UiSignIn && r.Details.GetValueOrDefault("method") == "saml").Details["reason"]);
    }

    private async Task<(string Location, IEnumerable<string> Cookies)> PostAsync(string samlResponse)
    {
        using var http = site.Server.NewHttpClient(followRedirects: false);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["SAMLResponse"] = samlResponse });
        using var answer = await http.PostAsync(new Uri("/auth/saml/acs", UriKind.Relative), form);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        return (answer.Headers.Location!.OriginalString, answer.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.ToList() : []);
    }

    private static XmlElement Email(XmlDocument document) => (XmlElement)document.GetElementsByTagName("NameID", "urn:oasis:names:tc:SAML:2.0:assertion")[0]!;

    /// <summary>Signature wrapping: a forged assertion (the owner) first, the signed one kept further down where a careless validator still finds its signature good.</summary>
    private static void Wrap(XmlDocument document)
    {
        var signed = (XmlElement)document.GetElementsByTagName("Assertion", "urn:oasis:names:tc:SAML:2.0:assertion")[0]!;
        var forged = (XmlElement)signed.CloneNode(deep: true);
        forged.SetAttribute("ID", "_forged");
        forged.RemoveChild(forged.ChildNodes.OfType<XmlElement>().Single(e => e.LocalName == "Signature"));
        forged.GetElementsByTagName("NameID", "urn:oasis:names:tc:SAML:2.0:assertion")[0]!.InnerText = "owner@localhost";
        var extensions = document.CreateElement("samlp", "Extensions", "urn:oasis:names:tc:SAML:2.0:protocol");
        document.DocumentElement!.InsertBefore(extensions, signed);
        extensions.AppendChild(signed);
        document.DocumentElement.AppendChild(forged);
    }
}
