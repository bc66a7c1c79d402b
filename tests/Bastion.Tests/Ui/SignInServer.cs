using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Server.Tls;
using Bastion.Tests.Security;
using Bastion.Tests.Security.Tls;

namespace Bastion.Tests.Ui;

/// <summary>
/// A Bastion started as <c>server start</c> starts it (production mode, TLS 1.3 with a server certificate, API keys)
/// with a web UI port: account <c>acme</c>, namespace <c>ops.acme</c> (API keys accepted), the first owner, a user who
/// may write there (<see cref="WriterKey"/>) and one who may only read (<see cref="ReaderKey"/>). Audit records are
/// captured in <see cref="Audit"/>, or with <paramref name="durableAudit"/> kept in the store's audit log (which
/// GetAuditLogs reads). <paramref name="time"/> drives the server's clock (session timeouts) when given. The HTTP API
/// has a listener of its own too (<see cref="HttpApiUrl"/>).
/// </summary>
internal sealed class SignInServer(TimeProvider? time = null, bool durableAudit = false) : IAsyncDisposable
{
    public const string Account = "acme";
    public const string Namespace = "ops.acme";
    public const string OwnerKey = "bastion-ui-test-owner-key-0123456789abcdef";
    public const string WriterEmail = "writer@acme.test";
    public const string ReaderEmail = "reader@acme.test";

    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-ui-signin-").FullName;

    public BastionServer Server { get; private set; } = null!;

    public CapturingAuditSink Audit { get; } = new();

    public X509Certificate2 ServerCa { get; } = TestPki.Ca("UI test server CA");

    public string WriterKey { get; private set; } = string.Empty;

    public string ReaderKey { get; private set; } = string.Empty;

    /// <summary>The UI's origin, <c>https://127.0.0.1:port</c> (the certificate names the address).</summary>
    public string Url => $"https://{Server.UiAddress}";

    /// <summary>The HTTP API's own listener, <c>https://127.0.0.1:port</c>.</summary>
    public string HttpApiUrl => $"https://{Server.HttpAddress}";

    public async Task StartAsync()
    {
        var certificateFile = Path.Combine(_directory, "server.pem");
        var keyFile = Path.Combine(_directory, "server.key");
        var certificate = CertificateFactory.CreateServer(ServerCa, ["bastion.test", $"*.{Account}.bastion.test"], [IPAddress.Loopback], TestPki.Now.AddDays(-1), TestPki.Now.AddDays(30));
        CertificateFactory.Write(certificate, certificateFile, keyFile);
        var options = new ServerOptions
        {
            Port = 0,
            UiPort = 0,
            HttpPort = 0,
            DevMode = false,
            Account = Account,
            BaseDomain = "bastion.test",
            TlsCertFile = certificateFile,
            TlsKeyFile = keyFile,
            OwnerApiKey = OwnerKey,
            AuditSink = durableAudit ? null : Audit,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        if (time != null)
        {
            options.Time = time;
        }

        Server = await BastionServer.StartAsync(options);
        var ns = await Server.Namespaces.CreateAsync("ops", Account, TimeSpan.FromDays(1), tls: null, e => e with { ApiKeyAuth = true });
        WriterKey = await UserWithKeyAsync(WriterEmail, AccountRole.Developer, ns, Permission.NamespaceWrite);
        ReaderKey = await UserWithKeyAsync(ReaderEmail, AccountRole.Read, ns, Permission.NamespaceRead);
    }

    /// <summary>An SDK client of <see cref="Namespace"/> with the writer's key, over TLS on the shared host.</summary>
    public Task<TemporalClient> ConnectAsync() => TemporalClient.ConnectAsync(new($"127.0.0.1:{Server.Port}")
    {
        Namespace = Namespace,
        ApiKey = WriterKey,
        Tls = new TlsOptions { ServerRootCACert = TestPki.PemBytes(ServerCa), Domain = "bastion.test" },
    });

    /// <summary>An HTTPS client of the UI's origin (or of <paramref name="url"/>), TLS 1.3, trusting only the test CA; cookies are left to the test.</summary>
    public HttpClient NewHttpClient(string? url = null, bool followRedirects = true) => new(new SocketsHttpHandler
    {
        UseCookies = false,
        AllowAutoRedirect = followRedirects,
        SslOptions = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, presented, _, errors) => TestPki.ServerChainsTo(ServerCa, presented, errors),
        },
    })
    {
        BaseAddress = new Uri(url ?? Url),
    };

    /// <summary>Signs in with <paramref name="apiKey"/> over HTTP; the response (its cookies) for the test to read.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string apiKey)
    {
        using var body = new StringContent($"{{\"apiKey\":\"{apiKey}\"}}");
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await http.PostAsync(new Uri("/auth/sign-in", UriKind.Relative), body);
    }

    /// <summary>A new user of the account with <paramref name="role"/> and <paramref name="permission"/> on <paramref name="ns"/>, and an API key of theirs.</summary>
    internal async Task<string> UserWithKeyAsync(string email, AccountRole role, NamespaceEntry ns, Permission permission)
    {
        var user = await Server.Identities.CreateAsync(new UserEntry
        {
            Id = "user-" + email.Split('@')[0],
            Account = Account,
            Email = email,
            Role = role,
            NamespaceAccess = new Dictionary<string, Permission> { [ns.Id] = permission },
        });
        return (await Server.Identities.CreateApiKeyAsync(new ApiKeyEntry
        {
            Id = string.Empty,
            Account = Account,
            OwnerId = user.Id,
            OwnerType = PrincipalType.User,
            ExpiryTime = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime.AddDays(30),
            SecretHash = [],
        })).Token;
    }

    public async ValueTask DisposeAsync()
    {
        if (Server != null)
        {
            await Server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
