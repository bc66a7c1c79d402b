using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Namespaces;
using Bastion.Security.Tls;
using Bastion.Server;
using Bastion.Server.Tls;
using Bastion.Tests.Security;

namespace Bastion.Tests.Security.Tls;

/// <summary>
/// A production-mode Bastion on loopback with TLS 1.3: account <c>acme</c>, base domain <c>bastion.test</c>,
/// a server certificate for <c>bastion.test</c> and <c>*.acme.bastion.test</c>, and namespaces with their own CAs:
/// <c>alpha</c> (CA A), <c>beta</c> (CA B), <c>filtered</c> (CA A, filter CN=allowed-*), <c>rotated</c> (CAs A
/// and C), <c>revoking</c> (CA A, with a CRL revoking <see cref="RevokedClient"/>). Clients dial 127.0.0.1 and
/// present the namespace's host as the TLS server name, as through a private endpoint.
/// </summary>
public sealed class TlsServerFixture : IAsyncLifetime
{
    public const string BaseDomain = "bastion.test";
    public const string Account = "acme";

    /// <summary>The first owner's API key, chosen as BASTION_OWNER_API_KEY would choose it.</summary>
    public const string OwnerKey = "bastion-test-owner-key-0123456789abcdef";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-tls-" + Guid.NewGuid().ToString("N"));

    internal BastionServer Server { get; private set; } = null!;

    internal CapturingAuditSink Audit { get; } = new();

    /// <summary>TLS options for API-key clients: the shared host, no client certificate.</summary>
    internal TlsOptions SharedHostTls => new() { ServerRootCACert = TestPki.PemBytes(ServerCa), Domain = BaseDomain };

    internal X509Certificate2 ServerCa { get; } = TestPki.Ca("Test server CA");

    internal X509Certificate2 CaA { get; } = TestPki.Ca("Test CA A");

    internal X509Certificate2 CaB { get; } = TestPki.Ca("Test CA B");

    internal X509Certificate2 CaC { get; } = TestPki.Ca("Test CA C");

    internal X509Certificate2 ClientA { get; private set; } = null!;

    internal X509Certificate2 ClientB { get; private set; } = null!;

    internal X509Certificate2 RevokedClient { get; private set; } = null!;

    public string CertificateFile => Path.Combine(_directory, "server.pem");

    public string KeyFile => Path.Combine(_directory, "server.key");

    public int Port => Server.Port;

    /// <summary>The HTTPS (HTTP API) port, TLS like the gRPC one.</summary>
    public int HttpsPort => int.Parse(Server.HttpAddress!.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);

    public static string Host(string name) => $"{name}.{Account}.{BaseDomain}";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        WriteServerCertificate();
        ClientA = TestPki.Client(CaA, "worker-a");
        ClientB = TestPki.Client(CaB, "worker-b");
        RevokedClient = TestPki.Client(CaA, "revoked-worker");
        var options = new ServerOptions
        {
            Port = 0,
            HttpPort = 0,
            DevMode = false,
            Account = Account,
            BaseDomain = BaseDomain,
            TlsCertFile = CertificateFile,
            TlsKeyFile = KeyFile,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            OwnerApiKey = OwnerKey,
            AuditSink = Audit,
        };
        Server = await BastionServer.StartAsync(options);
        await CreateNamespaceAsync("alpha", new NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(CaA) });
        await CreateNamespaceAsync("beta", new NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(CaB) });
        await CreateNamespaceAsync("filtered", new NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(CaA), Filters = [new CertificateFilter(CommonName: "allowed-*")] });
        await CreateNamespaceAsync("rotated", new NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(CaA, CaC) });
        var crl = new CertificateRevocationListBuilder();
        crl.AddEntry(RevokedClient);
        var crlFile = Path.Combine(_directory, "alpha.crl");
        await File.WriteAllBytesAsync(crlFile, crl.Build(CaA, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256));
        await CreateNamespaceAsync("revoking", new NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(CaA), CrlFile = crlFile });
    }

    /// <summary>Replaces the server certificate files with a new certificate; returns it.</summary>
    internal X509Certificate2 WriteServerCertificate()
    {
        var certificate = CertificateFactory.CreateServer(ServerCa, [BaseDomain, $"*.{Account}.{BaseDomain}"], [IPAddress.Loopback], TestPki.Now.AddDays(-1), TestPki.Now.AddDays(30));
        CertificateFactory.Write(certificate, CertificateFile, KeyFile);
        return certificate;
    }

    internal async Task CreateNamespaceAsync(string name, NamespaceTlsPolicy policy) =>
        await Server.Namespaces.CreateAsync(name, Account, TimeSpan.FromDays(1), NamespaceTlsPolicies.Validate(policy, DateTime.UtcNow));

    /// <summary>An SDK client for a namespace, dialing 127.0.0.1 with the namespace's host as the server name.</summary>
    internal Task<TemporalClient> ConnectAsync(string name, X509Certificate2 clientCertificate) =>
        TemporalClient.ConnectAsync(new TemporalClientConnectOptions($"127.0.0.1:{Port}")
        {
            Namespace = $"{name}.{Account}",
            Tls = new TlsOptions
            {
                ServerRootCACert = TestPki.PemBytes(ServerCa),
                Domain = Host(name),
                ClientCert = TestPki.PemBytes(clientCertificate),
                ClientPrivateKey = TestPki.KeyBytes(clientCertificate),
            },
        });

    /// <summary>
    /// An HTTP/2 client over TLS 1.3 for raw gRPC calls to <c>https://{host}:{port}</c>; it dials 127.0.0.1 and
    /// trusts only the test server CA.
    /// </summary>
    internal HttpClient RawClient(X509Certificate2? clientCertificate) => LoopbackClient(Port, new SslClientAuthenticationOptions
    {
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificates = clientCertificate is null ? null : [clientCertificate],
        RemoteCertificateValidationCallback = (_, certificate, _, errors) => TrustsServer(certificate, errors),
    });

    /// <summary>An HTTP/2 client whose every connection dials 127.0.0.1:<paramref name="port"/>, whatever the URI's host (the SNI).</summary>
    internal static HttpClient LoopbackClient(int port, SslClientAuthenticationOptions ssl) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = ssl,
    });

    internal string BaseUri(string host) => $"https://{host}:{Port}";

    /// <summary>The certificate chain check a client does, against the test server CA only.</summary>
    internal bool TrustsServer(X509Certificate? certificate, SslPolicyErrors errors) => TestPki.ServerChainsTo(ServerCa, certificate, errors);

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TlsServerCollection : ICollectionFixture<TlsServerFixture>
{
    public const string Name = "tls-server";
}
