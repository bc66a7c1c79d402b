using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Bastion.Server.Cluster;

/// <summary>
/// The cluster's mutual TLS 1.3: every node presents its certificate both ways, and each side accepts only a certificate
/// that chains to the cluster CA (the CA alone is trusted, not the system's roots; host names are not checked, as
/// nodes reach each other by address and every node of the cluster is as trusted as any other).
/// </summary>
internal sealed class ClusterTls : IDisposable
{
    private ClusterTls(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        Certificate = certificate;
        Authorities = authorities;
    }

    public X509Certificate2 Certificate { get; }

    public X509Certificate2Collection Authorities { get; }

    /// <summary>Loads the node's certificate and key and the CA bundle; <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static ClusterTls Load(string certificateFile, string keyFile, string caFile)
    {
        X509Certificate2 certificate;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null); // a key usable by SslStream
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"--cluster-cert-file/--cluster-key-file: cannot load the node certificate: {e.Message}", e);
        }

        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            certificate.Dispose();
            throw new ArgumentException($"--cluster-ca-file: cannot load the cluster CA: {e.Message}", e);
        }

        if (authorities.Count == 0)
        {
            certificate.Dispose();
            throw new ArgumentException("--cluster-ca-file: the file holds no certificate.");
        }

        var tls = new ClusterTls(certificate, authorities);
        if (!tls.Trusts(certificate))
        {
            tls.Dispose();
            throw new ArgumentException("--cluster-cert-file: the node certificate does not chain to the cluster CA (--cluster-ca-file), or is not valid now.");
        }

        return tls;
    }

    /// <summary>Whether <paramref name="certificate"/> chains to the cluster CA and is valid now.</summary>
    public bool Trusts(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>The client side: this node's certificate out, the cluster CA in.</summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        EnabledSslProtocols = SslProtocols.Tls13,
        ApplicationProtocols = [SslApplicationProtocol.Http2],
        ClientCertificates = [Certificate],
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Trusts(certificate),
    };

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var authority in Authorities)
        {
            authority.Dispose();
        }
    }
}
