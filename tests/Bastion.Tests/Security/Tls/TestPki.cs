using System.Security.Cryptography.X509Certificates;
using Bastion.Server.Tls;

namespace Bastion.Tests.Security.Tls;

/// <summary>Certificates for TLS tests, made with the product's own <see cref="CertificateFactory"/>.</summary>
internal static class TestPki
{
    public static DateTimeOffset Now => DateTimeOffset.UtcNow;

    public static X509Certificate2 Ca(string name, int days = 365) => CertificateFactory.CreateCa(name, Now.AddDays(-30), Now.AddDays(days));

    public static X509Certificate2 Client(X509Certificate2 ca, string commonName, string? organization = null, string? unit = null, DateTimeOffset? notAfter = null, params string[] dnsNames) =>
        Usable(CertificateFactory.CreateClient(ca, commonName, organization, unit, dnsNames, (notAfter ?? Now).AddDays(-10), notAfter ?? Now.AddDays(30)));

    public static string Pem(params X509Certificate2[] certificates) => string.Concat(certificates.Select(CertificateFactory.CertificatePem));

    public static byte[] PemBytes(X509Certificate2 certificate) => System.Text.Encoding.ASCII.GetBytes(CertificateFactory.CertificatePem(certificate));

    public static byte[] KeyBytes(X509Certificate2 certificate) => System.Text.Encoding.ASCII.GetBytes(CertificateFactory.PrivateKeyPem(certificate));

    // SslStream on Linux wants a key it can hand to OpenSSL; a PKCS#12 round trip gives one.
    private static X509Certificate2 Usable(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
        }
    }

    /// <summary>The check a client makes of a server's certificate, trusting <paramref name="ca"/> only.</summary>
    public static bool ServerChainsTo(X509Certificate2 ca, X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors)
    {
        if (certificate is null || (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    }
}
