using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bastion.Security.Audit;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Server.Tls;
using Bastion.Tests.Integration;
using Bastion.Tests.Security;
using Bastion.Tests.Security.Tls;
using Bastion.Tests.Storage.Postgres;
using Bastion.Tests.Ui;

namespace Bastion.Tests.Cluster;

/// <summary>
/// Single sign-on on a cluster of two nodes on one PostgreSQL database, behind what a load balancer does: the browser's
/// requests reach either node under the one public host. An OpenID Connect sign-in started on one node completes on the
/// other (the sign-in's state is protected with Data Protection keys the nodes share through the database, sealed with
/// the key ring; the client secret, given through the API, is sealed there too); a SAML assertion accepted by one node
/// is refused as replayed by the other.
/// </summary>
public sealed class ClusterSsoTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const string Account = "acme";
    private const string OwnerKey = "bastion-cluster-sso-owner-key-0123456789abcdef";
    private const string Email = "writer@acme.test";
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-cluster-sso-").FullName;
    private readonly X509Certificate2 _ca = TestPki.Ca("cluster SSO test CA");
    private readonly List<(BastionServer Server, CapturingAuditSink Audit)> _nodes = [];
    private OidcTestProvider? _oidc;
    private SamlTestIdp? _saml;

    private BastionServer A => _nodes[0].Server;

    private BastionServer B => _nodes[1].Server;

    /// <summary>The public origin the browser sees (node A's address; the "load balancer" sends some requests to B).</summary>
    private string Origin => $"https://{A.UiAddress}";

    public async Task InitializeAsync()
    {
        var url = await database.CreateDatabaseAsync();
        var certificateFile = Path.Combine(_directory, "server.pem");
        var keyFile = Path.Combine(_directory, "server.key");
        CertificateFactory.Write(
            CertificateFactory.CreateServer(_ca, ["bastion.test", $"*.{Account}.bastion.test"], [IPAddress.Loopback], TestPki.Now.AddDays(-1), TestPki.Now.AddDays(30)),
            certificateFile,
            keyFile);
        foreach (var name in new[] { "node-a", "node-b" })
        {
            var audit = new CapturingAuditSink();
            var options = ClusterNode.Options(url, name, _directory, 4);
            options.UiPort = 0;
            options.DevMode = false;
            options.Account = Account;
            options.BaseDomain = "bastion.test";
            options.TlsCertFile = certificateFile;
            options.TlsKeyFile = keyFile;
            options.OwnerApiKey = OwnerKey;
            options.NamespaceRefreshInterval = TimeSpan.FromHours(1); // a change through one node is read by the other before its call answers
            options.AuditSink = audit;
            _nodes.Add((await BastionServer.StartAsync(options), audit));
        }

        await A.Identities.CreateAsync(new UserEntry { Id = "user-writer", Account = Account, Email = Email, Role = Bastion.Security.Authorization.AccountRole.Developer });
        _oidc = await OidcTestProvider.StartAsync(Origin, new Dictionary<string, OidcTestProvider.Account> { ["writer"] = new(Email) });
        _saml = await SamlTestIdp.StartAsync(Origin, new Dictionary<string, (string, string[], string)>
        {
            ["writer"] = (Email, [], "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"),
        });

        // The client secret is given as through the API: sealed in the database, where node B finds it.
        await A.OidcClientSecret.StoreAsync(Account, OidcTestProvider.ClientSecret);
        await A.Identities.SetSsoSettingsAsync(Account, _ => new SsoSettingsEntry
        {
            Id = string.Empty,
            Account = Account,
            Oidc = new OidcSettings(_oidc.Issuer, OidcTestProvider.ClientId, null, null, null, [], Enabled: true) { ClientSecretStored = true },
            Saml = new SamlSettings(_saml.MetadataFile, SamlTestIdp.SamlSpEntityId, null, null, Enabled: true),
            RequireMfa = MfaRule.Off,
        });
        Assert.True(B.Identities.SsoSettingsOf(Account) is { Oidc.Enabled: true, Saml.Enabled: true });
        Assert.NotNull(B.Identities.UserByEmail(Account, Email));
    }

    [Fact]
    public async Task AnOidcSignInStartedOnOneNode_CompletesOnTheOther()
    {
        using var toA = Client(A);
        using var toB = Client(B);

        // Node A starts the sign-in: the browser is sent to the provider with A's protected state and its correlation cookies.
        using var start = await SendAsync(toA, HttpMethod.Get, "/auth/oidc/start?returnUrl=/", cookies: null);
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var cookies = UiCookies.SetCookies(start).ToDictionary(c => c.Key, c => c.Value.Value);
        Assert.NotEmpty(cookies);

        // The person signs in at the provider, which sends the browser back to the public origin's callback.
        var callback = await SignInAtProviderAsync(start.Headers.Location!, "writer");
        Assert.StartsWith(Origin + "/auth/oidc/callback?", callback.OriginalString, StringComparison.Ordinal);

        // The load balancer hands the callback to node B, which reads A's state and redeems the code with the sealed secret.
        using var completed = await SendAsync(toB, HttpMethod.Get, callback.PathAndQuery, cookies);
        Assert.True(completed.StatusCode == HttpStatusCode.Redirect, await completed.Content.ReadAsStringAsync());
        Assert.Equal("/", completed.Headers.Location!.OriginalString);
        var session = UiCookies.SetCookies(completed)["__Host-bastion-session"].Value;
        var signIn = Assert.Single(_nodes[1].Audit.Records, r => r.Kind == AuditKinds.UiSignIn);
        Assert.Equal((Email, 0, "oidc"), (signIn.PrincipalName, signIn.Status, signIn.Details["method"]));

        using var who = await SendAsync(toB, HttpMethod.Get, "/auth/session", new Dictionary<string, string> { ["__Host-bastion-session"] = session });
        Assert.Equal(HttpStatusCode.OK, who.StatusCode);
        Assert.Contains(Email, await who.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASamlAssertionAcceptedByOneNode_IsRefusedAsReplayedByTheOther()
    {
        using var toA = Client(A);
        using var toB = Client(B);
        var response = _saml!.Response("writer");

        using (var first = await PostAcsAsync(toA, response))
        {
            Assert.Equal("/", first.Headers.Location!.OriginalString);
            Assert.Contains("__Host-bastion-session", UiCookies.SetCookies(first).Keys);
        }

        using var again = await PostAcsAsync(toB, response);
        Assert.StartsWith("/login?error=", again.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain("__Host-bastion-session", UiCookies.SetCookies(again).Keys);
        var refusal = Assert.Single(_nodes[1].Audit.Records, r => r.Kind == AuditKinds.UiSignIn);
        Assert.Equal("replayed", refusal.Details["reason"]);
    }

    /// <summary>A session signed in on one node is good on the other, and signing out on that one ends it on both.</summary>
    [Fact]
    public async Task AUiSessionFromOneNode_IsValidOnTheOther_AndSigningOutEndsItEverywhere()
    {
        using var toA = Client(A);
        using var toB = Client(B);
        using var signIn = await PostAcsAsync(toA, _saml!.Response("writer"));
        var set = UiCookies.SetCookies(signIn);
        var cookies = new Dictionary<string, string> { ["__Host-bastion-session"] = set["__Host-bastion-session"].Value, ["_csrf"] = set["_csrf"].Value };

        using (var onB = await SendAsync(toB, HttpMethod.Get, "/auth/session", cookies))
        {
            Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
            Assert.Contains(Email, await onB.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var signOut = new HttpRequestMessage(HttpMethod.Post, new Uri("/auth/sign-out", UriKind.Relative));
        signOut.Headers.Add("X-CSRF-TOKEN", cookies["_csrf"]);
        using (var signedOut = await SendAsync(toB, signOut, cookies))
        {
            Assert.True(signedOut.IsSuccessStatusCode, signedOut.StatusCode.ToString());
        }

        using var onA = await SendAsync(toA, HttpMethod.Get, "/auth/session", cookies);
        Assert.Equal(HttpStatusCode.Unauthorized, onA.StatusCode);
    }

    /// <summary>Follows the provider's pages as a browser would (its own cookies), signing in as <paramref name="login"/>; returns where it sends the browser back to.</summary>
    private static async Task<Uri> SignInAtProviderAsync(Uri authorize, string login)
    {
        using var provider = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        var next = authorize;
        for (var step = 0; step < 12; step++)
        {
            using var page = await provider.GetAsync(next);
            var location = page.Headers.Location;
            if (page.StatusCode == HttpStatusCode.OK && next.AbsolutePath.StartsWith("/interaction/", StringComparison.Ordinal))
            {
                using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["login"] = login });
                using var posted = await provider.PostAsync(next, form);
                location = posted.Headers.Location;
            }

            Assert.NotNull(location);
            next = location.IsAbsoluteUri ? location : new Uri(next, location);
            if (next.OriginalString.StartsWith("https://", StringComparison.Ordinal))
            {
                return next;
            }
        }

        throw new InvalidOperationException("The provider never sent the browser back.");
    }

    private Task<HttpResponseMessage> PostAcsAsync(HttpClient node, string samlResponse)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/auth/saml/acs", UriKind.Relative))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["SAMLResponse"] = samlResponse }),
        };
        return SendAsync(node, request, cookies: null);
    }

    private Task<HttpResponseMessage> SendAsync(HttpClient node, HttpMethod method, string pathAndQuery, IReadOnlyDictionary<string, string>? cookies) =>
        SendAsync(node, new HttpRequestMessage(method, new Uri(pathAndQuery, UriKind.Relative)), cookies);

    /// <summary>A request as the load balancer forwards it: to the node's listener, under the public origin's host.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpClient node, HttpRequestMessage request, IReadOnlyDictionary<string, string>? cookies)
    {
        using (request)
        {
            request.Headers.Host = A.UiAddress;
            if (cookies is { Count: > 0 })
            {
                request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
            }

            return await node.SendAsync(request);
        }
    }

    private HttpClient Client(BastionServer node) => new(new SocketsHttpHandler
    {
        UseCookies = false,
        AllowAutoRedirect = false,
        SslOptions = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, presented, _, errors) => TestPki.ServerChainsTo(_ca, presented, errors),
        },
    })
    {
        BaseAddress = new Uri($"https://{node.UiAddress}"),
    };

    public async Task DisposeAsync()
    {
        foreach (var (server, _) in Enumerable.Reverse(_nodes))
        {
            await server.DisposeAsync();
        }

        if (_oidc != null)
        {
            await _oidc.DisposeAsync();
        }

        if (_saml != null)
        {
            await _saml.DisposeAsync();
        }

        _ca.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
