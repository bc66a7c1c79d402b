using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bastion.Server.Tls;

/// <summary>
/// Creates the certificates Bastion's tooling hands out (<c>bastion certs</c>, <c>start-dev --tls</c>, tests):
/// CAs, client certificates and server certificates, ECDSA P-256 signed with SHA-256, with only
/// <see cref="CertificateRequest"/> from the base library.
/// </summary>
public static class CertificateFactory
{
    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    public static X509Certificate2 CreateCa(string commonName, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject(commonName, null, null), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>A client certificate for mTLS: subject CN (and O, OU when given), optional DNS SANs, client-auth usage.</summary>
    public static X509Certificate2 CreateClient(
        X509Certificate2 ca, string commonName, string? organization, string? organizationalUnit, IEnumerable<string> dnsNames, DateTimeOffset notBefore, DateTimeOffset notAfter) =>
        CreateLeaf(ca, Subject(commonName, organization, organizationalUnit), dnsNames, [], [ClientAuthenticationOid], notBefore, notAfter);

    /// <summary>A server certificate: DNS names (wildcards allowed) and IP addresses as SANs, server-auth usage.</summary>
    public static X509Certificate2 CreateServer(
        X509Certificate2 ca, IReadOnlyList<string> dnsNames, IEnumerable<IPAddress> addresses, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        return CreateLeaf(ca, Subject(dnsNames.Count > 0 ? dnsNames[0] : "bastion", null, null), dnsNames, addresses, [ServerAuthenticationOid], notBefore, notAfter);
    }

    /// <summary>
    /// A cluster node's certificate (issued by the cluster CA): it serves the node's cluster listener and is the node's
    /// client certificate towards the others, so it carries both usages; its name is the node's.
    /// </summary>
    public static X509Certificate2 CreateNode(X509Certificate2 ca, string nodeName, IEnumerable<IPAddress> addresses, DateTimeOffset notBefore, DateTimeOffset notAfter) =>
        CreateLeaf(ca, Subject(nodeName, null, "bastion-cluster"), [], addresses, [ServerAuthenticationOid, ClientAuthenticationOid], notBefore, notAfter);

    /// <summary>The certificate as PEM.</summary>
    public static string CertificatePem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.ExportCertificatePem() + "\n";
    }

    /// <summary>The private key as PKCS#8 PEM.</summary>
    public static string PrivateKeyPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("The certificate has no ECDSA private key.", nameof(certificate));
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    /// <summary>Writes a certificate and its key; the key file is created readable by its owner only.</summary>
    public static void Write(X509Certificate2 certificate, string certificateFile, string keyFile)
    {
        File.WriteAllText(certificateFile, CertificatePem(certificate));
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(keyFile, options);
        using var writer = new StreamWriter(stream);
        writer.Write(PrivateKeyPem(certificate));
    }

    private static X509Certificate2 CreateLeaf(
        X509Certificate2 ca, X500DistinguishedName subject, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, string[] usages, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(ca);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var usageOids = new OidCollection();
        foreach (var usage in usages)
        {
            usageOids.Add(new Oid(usage));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usageOids, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var san = new SubjectAlternativeNameBuilder();
        var any = false;
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
            any = true;
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
            any = true;
        }

        if (any)
        {
            request.CertificateExtensions.Add(san.Build());
        }

        // A leaf lies within its CA's validity.
        var caStart = new DateTimeOffset(ca.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var caEnd = new DateTimeOffset(ca.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var start = notBefore < caStart ? caStart : notBefore;
        var end = notAfter > caEnd ? caEnd : notAfter;
        using var caRsa = ca.GetRSAPrivateKey();
        using var signed = caRsa != null // an operator's RSA CA signs the ECDSA leaf with PKCS#1 v1.5
            ? request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caRsa, RSASignaturePadding.Pkcs1), start, end, SerialNumber())
            : request.Create(ca, start, end, SerialNumber());
        return signed.CopyWithPrivateKey(key);
    }

    private static X500DistinguishedName Subject(string commonName, string? organization, string? organizationalUnit)
    {
        var builder = new X500DistinguishedNameBuilder();
        if (organization != null)
        {
            builder.AddOrganizationName(organization);
        }

        if (organizationalUnit != null)
        {
            builder.AddOrganizationalUnitName(organizationalUnit);
        }

        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        return serial;
    }
}
