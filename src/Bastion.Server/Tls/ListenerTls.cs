using System.Net.Security;
using System.Security.Authentication;
using Bastion.Security.Tls;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Bastion.Server.Tls;

/// <summary>
/// TLS for a Kestrel listener (gRPC or HTTPS): TLS 1.3 only, the server certificate from
/// <see cref="ServerCertificate"/>, and a client certificate requested when the server name (SNI) is a namespace's
/// host <c>&lt;name&gt;.&lt;account&gt;.&lt;base-domain&gt;</c>. The certificate is judged by the security pipeline
/// against that namespace's CA bundle and filters, so that a refused caller learns why (UNAUTHENTICATED) instead of
/// a bare handshake failure; the handshake itself accepts any certificate.
/// </summary>
internal sealed class ListenerTls(ServerCertificate certificate, string baseDomain)
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);

    public string BaseDomain => baseDomain;

    public System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate => certificate.Certificate;

    public void Apply(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        List<SslApplicationProtocol> alpn = listen.Protocols == HttpProtocols.Http2
            ? [SslApplicationProtocol.Http2]
            : [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = s_handshakeTimeout,
            OnConnection = context => ValueTask.FromResult(OptionsFor(context.ClientHelloInfo.ServerName, alpn)),
        });
    }

    internal SslServerAuthenticationOptions OptionsFor(string? serverName, List<SslApplicationProtocol> alpn) => new()
    {
        ServerCertificateContext = certificate.Current,
        EnabledSslProtocols = SslProtocols.Tls13,
        ApplicationProtocols = alpn,
        ClientCertificateRequired = EndpointHost.NamespaceOf(serverName, baseDomain) != null,
        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        // Deliberately accepts any client certificate at the handshake: the pipeline's authenticate stage checks
        // it against the addressed namespace's bundle, filters and CRL, on every call.
#pragma warning disable CA5359 // This validates client certificates, not a server's; the pipeline does it.
        RemoteCertificateValidationCallback = static (_, _, _, _) => true,
#pragma warning restore CA5359
    };
}
