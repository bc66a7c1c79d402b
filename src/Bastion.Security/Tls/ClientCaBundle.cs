using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bastion.Engine.Errors;

namespace Bastion.Security.Tls;

/// <summary>
/// A namespace's client CA bundle, parsed and checked against the security model's rules: PEM certificates only,
/// at most 16 CAs and 32 KiB, each a CA (basic constraints CA:true), with an RSA or ECDSA key, signed with
/// SHA-256 or stronger, and not expired.
/// </summary>
public sealed class ClientCaBundle
{
    public const int MaxCertificates = 16;
    public const int MaxBytes = 32 * 1024;

    /// <summary>How long before a CA expires it is reported (DescribeNamespace, the log).</summary>
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(15);

    // Signature algorithms with SHA-256 or stronger: RSA PKCS#1 v1.5 and ECDSA. RSA-PSS carries its hash in
    // parameters and is not accepted, rather than half-checked.
    private static readonly HashSet<string> s_signatureAlgorithms = new(StringComparer.Ordinal)
    {
        "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13",
        "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4",
    };

    private const string RsaKeyOid = "1.2.840.113549.1.1.1";
    private const string EcKeyOid = "1.2.840.10045.2.1";

    private ClientCaBundle(X509Certificate2Collection certificates) => Certificates = certificates;

    public X509Certificate2Collection Certificates { get; }

    /// <summary>Parses and validates a bundle; INVALID_ARGUMENT naming the first broken rule.</summary>
    public static ClientCaBundle Parse(string pem, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var size = Encoding.UTF8.GetByteCount(pem);
        if (size > MaxBytes)
        {
            throw ServiceException.InvalidArgument($"The CA bundle is {size} bytes; at most {MaxBytes} (32 KiB) are allowed.");
        }

        var certificates = new X509Certificate2Collection();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            if (label != "CERTIFICATE")
            {
                throw ServiceException.InvalidArgument($"The CA bundle holds a {ServiceException.Quote(label, 40)} block; only CERTIFICATE blocks are allowed (never a private key).");
            }

            if (certificates.Count == MaxCertificates)
            {
                throw ServiceException.InvalidArgument($"The CA bundle holds more than {MaxCertificates} certificates.");
            }

            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(rest[fields.Base64Data].ToString()));
            }
            catch (CryptographicException)
            {
                throw ServiceException.InvalidArgument($"Certificate {certificates.Count + 1} of the CA bundle is not a valid X.509 certificate.");
            }

            Check(certificate, certificates.Count + 1, now);
            certificates.Add(certificate);
            rest = rest[fields.Location.End..];
        }

        return certificates.Count == 0
            ? throw ServiceException.InvalidArgument("The CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----).")
            : new ClientCaBundle(certificates);
    }

    /// <summary>The CAs that expire within <see cref="ExpiryWarning"/> of <paramref name="now"/>.</summary>
    public IReadOnlyList<X509Certificate2> Expiring(DateTime now) =>
        Certificates.Where(c => c.NotAfter.ToUniversalTime() - now < ExpiryWarning).ToList();

    /// <summary>Human-readable lines for expiring CAs, e.g. for DescribeNamespace and the log.</summary>
    public static string Describe(X509Certificate2 ca) =>
        $"{ca.Subject} (SHA-256 {ca.GetCertHashString(HashAlgorithmName.SHA256)}) expires {ca.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}";

    private static void Check(X509Certificate2 certificate, int index, DateTime now)
    {
        var name = $"Certificate {index} of the CA bundle ({ServiceException.Quote(certificate.Subject, 100)})";
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is not { CertificateAuthority: true })
        {
            throw ServiceException.InvalidArgument($"{name} is not a CA: its basic constraints must say CA:true.");
        }

        if (certificate.PublicKey.Oid.Value is not (RsaKeyOid or EcKeyOid))
        {
            throw ServiceException.InvalidArgument($"{name} has a {certificate.PublicKey.Oid.FriendlyName ?? certificate.PublicKey.Oid.Value} key; only RSA and ECDSA keys are allowed.");
        }

        if (!s_signatureAlgorithms.Contains(certificate.SignatureAlgorithm.Value ?? string.Empty))
        {
            throw ServiceException.InvalidArgument(
                $"{name} is signed with {certificate.SignatureAlgorithm.FriendlyName ?? certificate.SignatureAlgorithm.Value}; RSA or ECDSA with SHA-256 or stronger is required.");
        }

        if (certificate.NotAfter.ToUniversalTime() <= now)
        {
            throw ServiceException.InvalidArgument($"{name} expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}.");
        }
    }
}
